#!/usr/bin/env python3
"""Regenerate the committed seed corpus tests/fuzz/corpus/api/ for fuzz_api:
byte 0 is the VM's phase (0 Not started, 1 Running, 2 Paused), the rest a
client's byte stream: Firecracker's getting-started calls as curl sends
them, the post-boot calls, and a few of each error class."""
import os


def req(method, path, body=None, extra=''):
    h = f'{method} {path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n'
    if body is None:
        return (h + extra + '\r\n').encode()
    b = body.encode()
    return (h + 'Content-Type: application/json\r\n' + extra +
            f'Content-Length: {len(b)}\r\n\r\n').encode() + b


GETTING_STARTED = [
    req('PUT', '/logger', '{"log_path": "/tmp/fc.log", "level": "Debug", "show_level": true, "show_log_origin": true}'),
    req('PUT', '/boot-source', '{"kernel_image_path": "./vmlinux", "boot_args": "console=ttyS0 reboot=k panic=1 pci=off"}'),
    req('PUT', '/drives/rootfs', '{"drive_id": "rootfs", "path_on_host": "./rootfs.ext4", "is_root_device": true, "is_read_only": false}'),
    req('PUT', '/machine-config', '{"vcpu_count": 2, "mem_size_mib": 256}'),
    req('PUT', '/network-interfaces/net1', '{"iface_id": "net1", "guest_mac": "06:00:AC:10:00:02", "host_dev_name": "tap0"}'),
    req('PUT', '/actions', '{"action_type": "InstanceStart"}'),
]

SEEDS = {
    'getting_started': (0, b''.join(GETTING_STARTED)),
    'drives_and_config': (0, b''.join([
        req('PUT', '/boot-source', '{"kernel_image_path": "/k", "initrd_path": "/i"}'),
        req('PUT', '/drives/data_1', '{"drive_id": "data_1", "path_on_host": "/d", "is_root_device": false, "partuuid": "abc", "cache_type": "Writeback", "io_engine": "Async", "rate_limiter": {"bandwidth": {"size": 1, "refill_time": 1}}}'),
        req('PUT', '/drives/rootfs', '{"drive_id": "rootfs", "path_on_host": "/r", "is_root_device": true, "is_read_only": true, "partuuid": "0eaa91a0-01"}'),
        req('PATCH', '/machine-config', '{"mem_size_mib": 512, "track_dirty_pages": true}'),
        req('GET', '/machine-config'), req('GET', '/vm/config'), req('GET', '/'), req('GET', '/version'),
        req('PUT', '/metrics', '{"metrics_path": "/tmp/m"}'),
        req('PUT', '/actions', '{"action_type": "InstanceStart"}', 'Expect: 100-continue\r\n'),
    ])),
    'running': (1, b''.join([
        req('GET', '/'),
        req('PATCH', '/vm', '{"state": "Paused"}'),
        req('PATCH', '/vm', '{"state": "Resumed"}'),
        req('PUT', '/actions', '{"action_type": "FlushMetrics"}'),
        req('PUT', '/actions', '{"action_type": "SendCtrlAltDel"}'),
        req('PUT', '/boot-source', '{"kernel_image_path": "/k"}'),
        req('PUT', '/actions', '{"action_type": "InstanceStart"}'),
    ])),
    'devices': (0, b''.join([
        req('PUT', '/network-interfaces/eth0', '{"iface_id": "eth0", "host_dev_name": "tap0", "guest_mac": "AA:FC:00:00:00:01", "mtu": 1500, "rx_rate_limiter": {"ops": {"size": 1}}, "tx_rate_limiter": null}'),
        req('PUT', '/network-interfaces/eth1', '{"iface_id": "eth1", "host_dev_name": "tap0"}'),
        req('PUT', '/network-interfaces/eth1', '{"iface_id": "eth1", "host_dev_name": "tap1", "guest_mac": "01:00:5e:00:00:01"}'),
        req('PUT', '/vsock', '{"vsock_id": "v", "guest_cid": 3, "uds_path": "/tmp/v.sock"}'),
        req('PUT', '/vsock', '{"guest_cid": 2, "uds_path": "/v"}'),
        req('PUT', '/logger', '{"log_path": null, "level": "Trace", "show_level": false}'),
        req('GET', '/vm/config'),
    ])),
    'devices_running': (1, b''.join([
        req('PATCH', '/network-interfaces/eth0', '{"iface_id": "eth0", "rx_rate_limiter": {"bandwidth": {"size": 1000, "refill_time": 100}}}'),
        req('PATCH', '/network-interfaces/eth0', '{"iface_id": "eth0", "host_dev_name": "tap9"}'),
        req('PUT', '/vsock', '{"guest_cid": 4, "uds_path": "/v"}'),
    ])),
    'paused': (2, req('GET', '/') + req('PATCH', '/vm', '{"state": "Resumed"}')),
    'errors': (0, b''.join([
        req('GET', '/nope'), req('DELETE', '/machine-config'),
        req('PUT', '/machine-config', '{"vcpu_count":'),
        req('PUT', '/machine-config', '{"vcpus": 1, "mem_size_mib": 64}'),
        req('PUT', '/machine-config', '{"vcpu_count": 33, "mem_size_mib": 64}'),
        req('PUT', '/machine-config', '{"vcpu_count": "2", "mem_size_mib": 64}'),
        req('PUT', '/drives/a-b', '{"drive_id": "a-b", "path_on_host": "/d", "is_root_device": false}'),
        req('PUT', '/drives/x', '{"drive_id": "y", "path_on_host": "/d", "is_root_device": false}'),
        req('PUT', '/boot-source', '{"kernel_image_path": ""}'),
        req('PUT', '/boot-source', '[1, 2]'),
        req('PATCH', '/vm', '{"state": "Paused"}'),
        req('PUT', '/actions', '{"action_type": "InstanceStart"}'),
        req('PUT', '/actions', '{"action_type": "Reboot"}'),
        req('PUT', '/logger', '{"level": "Loud"}'),
    ])),
}

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus', 'api')
os.makedirs(out, exist_ok=True)
for name, (phase, data) in SEEDS.items():
    with open(os.path.join(out, name), 'wb') as f:
        f.write(bytes([phase]) + data)
