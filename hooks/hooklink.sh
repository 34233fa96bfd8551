# hooklink.sh: place and remove the libvirt QEMU hook link for hugepage-guard without ever
# touching a file that is not ours. Sourced by install-hook and remove-hook (POSIX sh).
#
# The rules:
#   * Ours is exactly a symbolic link whose target is $HPG_TARGET. Nothing else is ever
#     removed, renamed, truncated or rewritten: not a regular file, not a link elsewhere.
#   * $HOOKS/qemu free (no file, no link, not even a dangling one)  -> $HOOKS/qemu is our link.
#     Otherwise (an admin's hook lives there)                       -> $HOOKS/qemu.d/50-hugepage-guard,
#     which libvirt (>= 6.5) runs after $HOOKS/qemu.
#   * Links are created with symlink(2), which fails if the name exists: no check-then-write race.
#   * libvirtd discovers hooks only at start and on SIGHUP, so after a change a running
#     libvirtd/virtqemud is reloaded (SIGHUP), never restarted: a restart would re-run every
#     hook (reconnect) for nothing.

HPG_TARGET=/usr/sbin/hugepage-guard-hook
HPG_HOOKS_DIR=/etc/libvirt/hooks
HPG_DROPIN_NAME=50-hugepage-guard
HPG_RELOAD=auto
HPG_STATE=

hpg_say()  { echo "hugepage-guard: $*" >&2; }
hpg_main() { echo "$HPG_HOOKS_DIR/qemu"; }
hpg_dropin() { echo "$HPG_HOOKS_DIR/qemu.d/$HPG_DROPIN_NAME"; }

# True when $1 is a symbolic link to our hook binary.
hpg_is_ours() {
    [ -L "$1" ] && [ "$(readlink "$1")" = "$HPG_TARGET" ]
}

# True when nothing at all, not even a dangling link, has the name $1.
hpg_is_free() {
    [ ! -e "$1" ] && [ ! -L "$1" ]
}

# True when some installed package owns path $1 (then it is never ours to remove).
hpg_dpkg_owned() {
    command -v dpkg-query >/dev/null 2>&1 && dpkg-query -S "$1" >/dev/null 2>&1
}

hpg_state_add() {
    [ -n "$HPG_STATE" ] || return 0
    mkdir -p "$(dirname "$HPG_STATE")" && echo "$1 $2" >>"$HPG_STATE"
}

# mkdir -p that records, in the state file, each directory it had to create.
hpg_mkdir() {
    [ -d "$1" ] && return 0
    hpg_mkdir "$(dirname "$1")" || return 1
    mkdir -m 0755 "$1" || return 1
    hpg_state_add dir "$1"
}

# pids of running libvirt daemons that run QEMU hooks (monolithic and modular).
hpg_daemon_pids() {
    if command -v pidof >/dev/null 2>&1; then
        pidof libvirtd virtqemud 2>/dev/null || true
    else
        for c in /proc/[0-9]*/comm; do
            case "$(cat "$c" 2>/dev/null)" in
                libvirtd|virtqemud) p=${c#/proc/}; printf '%s ' "${p%/comm}" ;;
            esac
        done
    fi
}

# Makes a running libvirtd/virtqemud re-discover hooks. Never fails the caller.
hpg_reload() {
    [ "$HPG_RELOAD" = none ] && return 0
    if [ "$HPG_RELOAD" = auto ] && [ -d /run/systemd/system ]; then
        for unit in libvirtd.service virtqemud.service; do
            systemctl --quiet is-active "$unit" 2>/dev/null || continue
            if [ -n "${DPKG_MAINTSCRIPT_PACKAGE:-}" ] && command -v deb-systemd-invoke >/dev/null 2>&1; then
                # Honours policy-rc.d, as every service action of a maintainer script must.
                deb-systemd-invoke reload "$unit" && reloaded=yes || reloaded=
            else
                systemctl reload "$unit" && reloaded=yes || reloaded=
            fi
            if [ -n "$reloaded" ]; then
                hpg_say "reloaded $unit (SIGHUP) so that it finds the hook; running VMs are not affected."
            else
                hpg_say "could not reload $unit; run 'systemctl reload $unit' so that libvirt finds the hook change."
            fi
        done
        return 0
    fi
    pids=$(hpg_daemon_pids || true)
    [ -n "$pids" ] || return 0
    if [ "$HPG_RELOAD" = sighup ]; then
        # shellcheck disable=SC2086
        kill -HUP $pids && hpg_say "sent SIGHUP to libvirt (pid $pids) so that it finds the hook change."
        return 0
    fi
    hpg_say "systemd is not running, so libvirt was not reloaded: it sees the hook change only"
    hpg_say "after a SIGHUP (running VMs are not affected). Run:  kill -HUP $pids"
    return 0
}

# Places the link. Prints where; returns 0 when our link is in place, 3 when it could not be
# placed without touching an admin's file.
hpg_place() {
    main=$(hpg_main); dropin=$(hpg_dropin)
    if hpg_is_ours "$main" || hpg_is_ours "$dropin"; then
        hpg_is_ours "$main" && where=$main || where=$dropin
        hpg_say "hook already in place: $where -> $HPG_TARGET"
        return 0
    fi
    hpg_mkdir "$HPG_HOOKS_DIR" || return 1
    if hpg_is_free "$main" && ln -s "$HPG_TARGET" "$main" 2>/dev/null; then
        hpg_state_add link "$main"
        hpg_say "installed the libvirt QEMU hook: $main -> $HPG_TARGET"
        hpg_reload
        return 0
    fi
    if hpg_is_free "$dropin" && hpg_mkdir "$HPG_HOOKS_DIR/qemu.d" && ln -s "$HPG_TARGET" "$dropin" 2>/dev/null; then
        hpg_state_add link "$dropin"
        hpg_say "$main already holds another hook, left untouched."
        hpg_say "installed the libvirt QEMU hook as $dropin -> $HPG_TARGET;"
        hpg_say "libvirt runs it after $main (both must admit a start)."
        hpg_reload
        return 0
    fi
    hpg_say "NOT installed: both $main and $dropin hold files that are not ours,"
    hpg_say "and hugepage-guard never overwrites them. Move one aside, then run $0."
    return 3
}

# Removes our links (and nothing else). With a state file, also the directories that
# placing them created, when they are empty and no package owns them.
hpg_remove() {
    removed=
    for p in "$(hpg_main)" "$(hpg_dropin)"; do
        if hpg_is_ours "$p"; then
            rm -f "$p" && removed="$removed $p" && hpg_say "removed the libvirt QEMU hook link $p"
        fi
    done
    if [ -n "$HPG_STATE" ] && [ -f "$HPG_STATE" ]; then
        # Deepest first: reverse the order of creation.
        sed -n 's/^dir //p' "$HPG_STATE" | sort -r | while read -r d; do
            [ -d "$d" ] && ! hpg_dpkg_owned "$d" && rmdir "$d" 2>/dev/null || true
        done
        rm -f "$HPG_STATE"
        rmdir "$(dirname "$HPG_STATE")" 2>/dev/null || true
    fi
    [ -n "$removed" ] && hpg_reload
    return 0
}

# Common options of install-hook and remove-hook.
hpg_parse_args() {
    while [ $# -gt 0 ]; do
        case "$1" in
            --target) HPG_TARGET=$2; shift 2 ;;
            --target=*) HPG_TARGET=${1#*=}; shift ;;
            --hooks-dir) HPG_HOOKS_DIR=$2; shift 2 ;;
            --hooks-dir=*) HPG_HOOKS_DIR=${1#*=}; shift ;;
            --reload) HPG_RELOAD=$2; shift 2 ;;
            --reload=*) HPG_RELOAD=${1#*=}; shift ;;
            --state) HPG_STATE=$2; shift 2 ;;
            --state=*) HPG_STATE=${1#*=}; shift ;;
            -h|--help) hpg_usage; exit 0 ;;
            *) hpg_say "unknown argument: $1"; hpg_usage >&2; exit 2 ;;
        esac
    done
    case "$HPG_TARGET" in /*) ;; *) hpg_say "--target must be an absolute path"; exit 2 ;; esac
    case "$HPG_RELOAD" in auto|sighup|none) ;; *) hpg_say "--reload takes auto, sighup or none"; exit 2 ;; esac
}
