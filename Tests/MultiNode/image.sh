# The multi-node guest's disk image, kernel and initrd: built once, cached by their inputs.
# Sourced by Tests/MultiNode/run. Every failure is loud.
#
# The image is `debootstrap --variant=minbase bookworm` plus the packages below, with a
# policy-rc.d that keeps every daemon from starting in the chroot, and a two-line stub init
# (/sbin/hpg-stub-init) that mounts the 9p share and hands PID 1 to the share's own init. The
# scenario scripts and binaries therefore live in the share, and editing them never rebuilds
# the image. The cache key is a hash of this file and the apt sources, so a change to the
# recipe or the mirror builds a new image beside the old one.

MN_SUITE=bookworm
MN_CACHE_ROOT=${HPG_MULTINODE_CACHE:-/var/cache/hugepage-guard/multinode}
MN_GUEST_PACKAGES="linux-image-amd64 initramfs-tools udev kmod libvirt-daemon-system
    libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 numactl procps util-linux python3"
MN_IMAGE_SIZE=3G

mn_image_key() {
    { cat "${BASH_SOURCE[0]}"; chroot_sources; } | sha256sum | cut -c1-16
}

mn_image_dir() { echo "$MN_CACHE_ROOT/$(mn_image_key)"; }

# The stub init baked into the image: mount just enough to reach the share, then exec the
# share's init, which becomes PID 1. Without the share there is nothing to run: power off.
mn_stub_init() {
    cat <<'STUB'
#!/bin/sh
# hugepage-guard multi-node test guest: hand PID 1 to the init in the 9p share.
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
modprobe -q 9pnet_virtio; modprobe -q 9p
mkdir -p /mnt/hpg
if mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 hpg /mnt/hpg && [ -x /mnt/hpg/guest-init ]; then
    exec /mnt/hpg/guest-init
fi
echo "hpg-stub-init: no share or no /mnt/hpg/guest-init" >&2
echo 1 > /proc/sys/kernel/sysrq; echo o > /proc/sysrq-trigger
STUB
}

# Builds the image into $1 (a new directory), in a private mount namespace so the chroot's
# mounts die with it.
mn_build_image() {
    local dir=$1 work mirror
    mirror=$(debian_mirror)
    work=$(mktemp -d /var/tmp/hpg-multinode-image.XXXXXX)
    log "building the multi-node guest image in $work (debootstrap $MN_SUITE from $mirror, then apt)"
    if ! debootstrap --variant=minbase --keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
            "$MN_SUITE" "$work/root" "$mirror" >"$work/build.log" 2>&1; then
        tail -n 30 "$work/build.log" >&2
        rm -rf --one-file-system "$work"
        die "debootstrap failed (mirror $mirror)"
    fi
    chroot_sources >"$work/root/etc/apt/sources.list"
    printf '#!/bin/sh\n# hugepage-guard multi-node image: start no service while building\nexit 101\n' \
        >"$work/root/usr/sbin/policy-rc.d"
    chmod 0755 "$work/root/usr/sbin/policy-rc.d"
    # shellcheck disable=SC2086
    if ! unshare --mount --propagation private sh -ec '
            r=$1; shift
            mount -t proc proc "$r/proc"; mount -t sysfs -o ro sysfs "$r/sys"
            mount --bind /dev "$r/dev"; mount -t devpts -o newinstance devpts "$r/dev/pts" || true
            mount -t tmpfs tmpfs "$r/run"; cp /etc/resolv.conf "$r/etc/resolv.conf" 2>/dev/null || true
            env -i LC_ALL=C PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root DEBIAN_FRONTEND=noninteractive \
                chroot "$r" sh -ec "apt-get update -qq; apt-get install -y -qq --no-install-recommends $*; apt-get clean"
        ' sh "$work/root" $MN_GUEST_PACKAGES >>"$work/build.log" 2>&1; then
        tail -n 40 "$work/build.log" >&2
        rm -rf --one-file-system "$work"
        die "installing the guest packages failed"
    fi
    rm -f "$work/root/etc/resolv.conf"
    mn_stub_init >"$work/root/sbin/hpg-stub-init"
    chmod 0755 "$work/root/sbin/hpg-stub-init"
    mkdir -p "$work/root/mnt/hpg" "$work/root/dev/hugepages" "$work/root/dev/hugepages1G"
    cp -L "$work/root/vmlinuz" "$work/vmlinuz" && cp -L "$work/root/initrd.img" "$work/initrd.img" \
        || die "no /vmlinuz or /initrd.img in the image (linux-image-amd64 not installed?)"
    mkfs.ext4 -q -F -L hpg-root -d "$work/root" "$work/rootfs.img" "$MN_IMAGE_SIZE" >>"$work/build.log" 2>&1 \
        || { tail -n 20 "$work/build.log" >&2; die "mkfs.ext4 -d failed"; }
    mkdir -p "$(dirname "$dir")"
    rm -rf --one-file-system "$work/root"
    mv "$work" "$dir.tmp.$$" && mv -T "$dir.tmp.$$" "$dir" || die "could not move the image into $dir"
    chmod 0755 "$dir"
    log "image ready: $dir"
}

# Prints the image directory (vmlinuz, initrd.img, rootfs.img), building it when missing.
mn_ensure_image() {
    local dir
    dir=$(mn_image_dir)
    if [ ! -s "$dir/rootfs.img" ] || [ ! -s "$dir/vmlinuz" ] || [ ! -s "$dir/initrd.img" ]; then
        mn_build_image "$dir"
    fi
    echo "$dir"
}
