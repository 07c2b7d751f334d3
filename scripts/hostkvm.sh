# Sourced by scripts: host_kvm_runs_linux succeeds when /dev/kvm is hardware
# KVM (kvm_intel/kvm_amd, or arm64 KVM) that boots a stock Linux kernel.
# A software nested hypervisor such as kvm_pvm cannot. ARCVMM_RIG=1 forces
# the nested rig, ARCVMM_RIG=0 forbids it.
host_kvm_runs_linux() {
    case "${ARCVMM_RIG:-}" in 1) return 1 ;; 0) return 0 ;; esac
    [ -c /dev/kvm ] || return 1
    [ -d /sys/module/kvm_pvm ] && return 1
    [ -d /sys/module/kvm_intel ] || [ -d /sys/module/kvm_amd ] || [ "$(uname -m)" = aarch64 ]
}
