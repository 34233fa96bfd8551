# Shared by scripts/demo and scripts/benchmark (bash): one host-changing actor at a time, and
# the hook placed and removed only through hooks/install-hook and hooks/remove-hook, so an
# admin's own hook is never moved aside or overwritten.
#
#   hg_lock_host                  exclusive flock on the host lock the tests also take (fd 9)
#   hg_install_hook TARGET        link the hook (qemu, or qemu.d/50-hugepage-guard), reload libvirt
#   hg_remove_hook TARGET         remove only our links to TARGET, reload libvirt
#   hg_wait_libvirt               until `virsh list` answers, or fail
#
# Reloading: under systemd through `systemctl reload` (libvirtd or virtqemud, whichever runs),
# else SIGHUP to every libvirtd and virtqemud. Never a restart: running VMs are not touched.

HG_REPO=${HG_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
HG_HOST_LOCK=/run/lock/hugepage-guard-host.lock

hg_lock_host() {
    mkdir -p "$(dirname "$HG_HOST_LOCK")"
    exec 9>"$HG_HOST_LOCK"
    flock -w "${1:-900}" 9 || { echo "$HG_HOST_LOCK is held by someone else (tests running?)" >&2; return 1; }
}

hg_reload_mode() {
    if [ -d /run/systemd/system ]; then echo auto; else echo sighup; fi
}

hg_wait_libvirt() {
    local _
    for _ in $(seq 120); do virsh -c qemu:///system list >/dev/null 2>&1 && return 0; sleep 0.25; done
    echo "libvirt does not answer 'virsh list' after a reload" >&2
    return 1
}

hg_install_hook() {
    "$HG_REPO/hooks/install-hook" --target "$1" --reload "$(hg_reload_mode)" && hg_wait_libvirt
}

hg_remove_hook() {
    "$HG_REPO/hooks/remove-hook" --target "$1" --reload "$(hg_reload_mode)" && hg_wait_libvirt
}
