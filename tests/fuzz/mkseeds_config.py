#!/usr/bin/env python3
"""Regenerate the committed seed corpus tests/fuzz/corpus/config/ for
fuzz_config: Firecracker config files as users write them (the
getting-started VM, every section, nulls as GET /vm/config writes them)
and a few of each error class."""
import json
import os

FULL = {
    "boot-source": {"kernel_image_path": "./vmlinux.bin", "boot_args": "console=ttyS0 reboot=k panic=1 pci=off",
                    "initrd_path": None},
    "drives": [{"drive_id": "rootfs", "path_on_host": "./rootfs.ext4", "is_root_device": True,
                "is_read_only": False, "partuuid": None, "cache_type": "Unsafe", "io_engine": "Sync",
                "rate_limiter": None},
               {"drive_id": "data", "path_on_host": "./data.img", "is_root_device": False,
                "is_read_only": True, "cache_type": "Writeback", "io_engine": "Async"}],
    "machine-config": {"vcpu_count": 2, "mem_size_mib": 1024, "smt": False, "track_dirty_pages": False,
                       "huge_pages": "None"},
    "network-interfaces": [{"iface_id": "eth0", "guest_mac": "AA:FC:00:00:00:01", "host_dev_name": "tap0",
                            "mtu": 1500, "rx_rate_limiter": {"bandwidth": {"size": 1, "refill_time": 1}}}],
    "vsock": {"guest_cid": 3, "uds_path": "./v.sock", "vsock_id": "vsock0"},
    "logger": {"log_path": "./fc.log", "level": "Info", "show_level": True, "show_log_origin": False},
    "metrics": {"metrics_path": "./fc.metrics"},
    "balloon": None,
}

SEEDS = {
    "full": json.dumps(FULL, indent=2),
    "getting_started": json.dumps({k: FULL[k] for k in ("boot-source", "drives", "machine-config",
                                                         "network-interfaces")}),
    "minimal": '{"boot-source":{"kernel_image_path":"/k"}}',
    "dump_defaults": ('{"boot-source":null,"drives":[],"machine-config":{"vcpu_count":1,"mem_size_mib":128,'
                      '"smt":false,"track_dirty_pages":false,"huge_pages":"None"},"network-interfaces":[],'
                      '"vsock":null,"logger":null,"metrics":null}'),
    "err_field": '{"drives":[{"drive_id":"rootfs","is_root_device":true}]}',
    "err_id": '{"drives":[{"drive_id":"root-fs","path_on_host":"/r","is_root_device":true}]}',
    "err_two_roots": ('{"drives":[{"drive_id":"a","path_on_host":"/a","is_root_device":true},'
                      '{"drive_id":"b","path_on_host":"/b","is_root_device":true}]}'),
    "err_mac": '{"network-interfaces":[{"iface_id":"e","host_dev_name":"t","guest_mac":"01:00:5e:00:00:01"}]}',
    "err_section": '{"machine_config":{"vcpu_count":1,"mem_size_mib":1}}',
    "err_json": '{"boot-source":{"kernel_image_path":"/k"',
    "err_dup": '{"vsock":null,"vsock":{"guest_cid":3,"uds_path":"/v"}}',
}

d = os.path.join(os.path.dirname(__file__), "corpus", "config")
os.makedirs(d, exist_ok=True)
for name, text in SEEDS.items():
    with open(os.path.join(d, name), "w") as f:
        f.write(text)
