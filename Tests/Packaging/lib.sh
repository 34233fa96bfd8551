# Helpers for Tests/Packaging/run: the machine's Debian mirror, a cached Debian 12 chroot
# with libvirt-daemon-system, and running commands inside a throw-away copy of it.
# Sourced, not executed. POSIX-ish bash; every failure is loud.

SUITE=bookworm
CACHE_DIR=${HPG_CHROOT_CACHE:-/var/cache/hugepage-guard-tests}
# What the cached chroot holds besides minbase: libvirt, systemd (systemd-analyze), man-db
# (systemd-analyze verify checks the unit's Documentation= man pages). Changing this list (or CHROOT_RECIPE) makes a
# new cache key, so a stale tarball is never reused.
CHROOT_PACKAGES="libvirt-daemon-system systemd man-db ca-certificates"
CHROOT_RECIPE=3

die() { echo "FATAL: $*" >&2; exit 2; }
log() { echo "--- $*" >&2; }

# The URI of the machine's configured Debian mirror for a suite (bookworm, bookworm-security,
# bookworm-updates), read from /etc/apt/sources.list and sources.list.d, in both the one-line
# and the deb822 format. Prints nothing when the suite is not configured.
apt_uri_for_suite() {
    local want=$1 f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -r "$f" ] || continue
        # deb [opts] URI SUITE COMPONENTS...
        awk -v want="$want" '
            $1 == "deb" {
                i = 2
                if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                if ($(i+1) == want) { print $i; exit }
            }' "$f"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -r "$f" ] || continue
        awk -v want="$want" '
            function flush() {
                if (types ~ /(^| )deb( |$)/ && uris != "") {
                    n = split(suites, s, " ")
                    for (k = 1; k <= n; k++) if (s[k] == want) { split(uris, u, " "); print u[1]; found = 1; exit }
                }
                types = ""; uris = ""; suites = ""
            }
            /^[ \t]*#/ { next }
            /^[ \t]*$/ { flush(); next }
            { line = $0; key = tolower(line); sub(/:.*/, "", key); val = line; sub(/^[^:]*:[ \t]*/, "", val)
              if (key == "types") types = val; else if (key == "uris") uris = val; else if (key == "suites") suites = val }
            END { if (!found) flush() }' "$f"
    done | head -n1
}

debian_mirror() {
    local m=${HPG_DEBIAN_MIRROR:-$(apt_uri_for_suite "$SUITE")}
    [ -n "$m" ] || die "no '$SUITE' entry in /etc/apt/sources.list* to take the Debian mirror from (set HPG_DEBIAN_MIRROR)"
    echo "${m%/}"
}

# The chroot's own sources: the same hosts the machine uses, Debian entries only.
chroot_sources() {
    local m sec upd
    m=$(debian_mirror)
    echo "deb $m $SUITE main"
    upd=$(apt_uri_for_suite "$SUITE-updates"); [ -n "$upd" ] && echo "deb ${upd%/} $SUITE-updates main"
    sec=$(apt_uri_for_suite "$SUITE-security"); [ -n "$sec" ] && echo "deb ${sec%/} $SUITE-security main"
    return 0
}

ensure_host_tools() {
    local missing="" p
    for p in debootstrap zstd debian-archive-keyring lintian systemd devscripts debhelper patchelf; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
    done
    [ -z "$missing" ] && return 0
    [ "$(id -u)" = 0 ] || die "need root to install:$missing"
    log "installing host tools:$missing"
    apt-get update -qq || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >&2 \
        || die "apt-get install$missing failed"
}

chroot_key() {
    { echo "$CHROOT_RECIPE $SUITE $CHROOT_PACKAGES"; chroot_sources; } | sha256sum | cut -c1-16
}

chroot_tarball() { echo "$CACHE_DIR/$SUITE-libvirt-$(chroot_key).tar.zst"; }

# Mounts the API filesystems a chroot needs. Called inside our private mount namespace (see
# `run`), so every mount disappears with the test process even if it is killed.
mount_chroot() {
    local r=$1
    mount -t proc proc "$r/proc" || die "mount proc in $r"
    mount -t sysfs -o ro sysfs "$r/sys" || die "mount sysfs in $r"
    mount -t tmpfs -o mode=0755 tmpfs "$r/run" || die "mount tmpfs on $r/run"
    mkdir -p "$r/dev/pts"
    mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$r/dev/pts" || die "mount devpts in $r"
    mkdir -p "$r/run/lock"
    cp /etc/resolv.conf "$r/etc/resolv.conf" 2>/dev/null || true
}

umount_chroot() {
    local r=$1 m
    for m in dev/pts run sys proc; do
        mountpoint -q "$r/$m" && umount -l "$r/$m"
    done
    return 0
}

# Runs a command in the chroot with the environment libvirt gives hooks, plus DEBIAN_FRONTEND.
in_chroot() {
    local r=$1; shift
    env -i LC_ALL=C PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root DEBIAN_FRONTEND=noninteractive \
        chroot "$r" "$@"
}

build_chroot_tarball() {
    local tarball=$1 work mirror
    mirror=$(debian_mirror)
    work=$(mktemp -d /var/tmp/hpg-debootstrap.XXXXXX)
    log "debootstrap $SUITE from $mirror into $work (cached afterwards as $tarball)"
    if ! debootstrap --variant=minbase --keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
            "$SUITE" "$work" "$mirror" >"$work.log" 2>&1; then
        tail -n 30 "$work.log" >&2
        [ -f "$work/debootstrap/debootstrap.log" ] && tail -n 30 "$work/debootstrap/debootstrap.log" >&2
        rm -rf "$work" "$work.log"
        die "debootstrap failed (mirror $mirror)"
    fi
    chroot_sources >"$work/etc/apt/sources.list"
    # Services must never start in the test chroot.
    printf '#!/bin/sh\n# hugepage-guard package tests: start no service in this chroot\nexit 101\n' \
        >"$work/usr/sbin/policy-rc.d"
    chmod 0755 "$work/usr/sbin/policy-rc.d"
    mount_chroot "$work"
    if ! { in_chroot "$work" apt-get update -qq &&
           in_chroot "$work" apt-get install -y -qq --no-install-recommends $CHROOT_PACKAGES; } >"$work.log" 2>&1; then
        tail -n 40 "$work.log" >&2
        umount_chroot "$work"; rm -rf "$work" "$work.log"
        die "installing $CHROOT_PACKAGES in the chroot failed"
    fi
    in_chroot "$work" apt-get clean
    umount_chroot "$work"
    rm -f "$work/etc/resolv.conf"
    mkdir -p "$CACHE_DIR"
    tar --numeric-owner --xattrs -C "$work" -cf - . | zstd -q -T0 -o "$tarball.tmp.$$" \
        || die "could not write $tarball"
    mv -f "$tarball.tmp.$$" "$tarball"
    rm -rf "$work" "$work.log"
}

# Prints the path of a fresh chroot, extracted from the cached tarball (built on first use).
fresh_chroot() {
    local tarball r
    tarball=$(chroot_tarball)
    if [ ! -s "$tarball" ]; then
        build_chroot_tarball "$tarball"
    fi
    r=$(mktemp -d "$SCRATCH/chroot.XXXXXX")
    chmod 0755 "$r"   # mktemp's 0700 would keep apt's _apt and man-db's man users out of /
    zstd -q -dc "$tarball" | tar --numeric-owner --xattrs -C "$r" -xf - || die "extracting $tarball failed"
    mount_chroot "$r"
    echo "$r"
}

drop_chroot() {
    local r=$1
    umount_chroot "$r"
    rm -rf --one-file-system "$r"
}
