#!/bin/sh
# Run one of the README's commands in a fresh Debian 12 tree, as a machine that has never
# seen the project would: nothing installed but debootstrap's minimal base, the working
# tree's HEAD cloned in. Catches a package that a command uses but does not install.
#
#   sh tools/fresh-debian.sh demo|test [DIR]
#
# Needs root, debootstrap and the Debian archive. DIR (default /tmp/salesplan-fresh-$$)
# is created and removed again. The tree gets a /dev of its own (a tmpfs with the few
# nodes programs need), never the host's devtmpfs: removing a tree with the host's /dev
# mounted in it would empty the host's /dev. Everything mounted is unmounted on exit, and
# the tree is removed only when nothing is mounted under it any more.
set -eu
cmd=${1:-}
case "$cmd" in
demo | test) ;;
*) echo "usage: sh tools/fresh-debian.sh demo|test [DIR]" >&2; exit 2 ;;
esac
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${2:-/tmp/salesplan-fresh-$$}
[ "$(id -u)" -eq 0 ] || { echo "fresh-debian.sh: run as root (chroot, mount)" >&2; exit 2; }
command -v debootstrap > /dev/null || { echo "fresh-debian.sh: needs debootstrap" >&2; exit 2; }
[ ! -e "$dir" ] || { echo "fresh-debian.sh: $dir exists; give a new directory" >&2; exit 2; }

mounted() { grep -q " $dir/" /proc/mounts; }
cleanup() {
    for m in dev/shm dev/pts dev sys proc; do
        umount -l "$dir/$m" 2> /dev/null || true
    done
    if mounted; then
        echo "fresh-debian.sh: something is still mounted under $dir; left in place" >&2
    else
        rm -rf --one-file-system "$dir"
    fi
}
trap cleanup EXIT INT TERM

debootstrap --variant=minbase bookworm "$dir" http://deb.debian.org/debian
mount -t proc proc "$dir/proc"
mount -t sysfs sys "$dir/sys"
mount -t tmpfs -o mode=755 devfs "$dir/dev"
for n in "null 1 3" "zero 1 5" "full 1 7" "random 1 8" "urandom 1 9" "tty 5 0"; do
    set -- $n
    mknod -m 666 "$dir/dev/$1" c "$2" "$3"
done
mkdir "$dir/dev/pts" "$dir/dev/shm"
mount -t devpts -o newinstance,ptmxmode=666 devpts "$dir/dev/pts"
ln -s pts/ptmx "$dir/dev/ptmx"
mount -t tmpfs shm "$dir/dev/shm"
ln -s /proc/self/fd "$dir/dev/fd"
ln -s /proc/self/fd/0 "$dir/dev/stdin"
ln -s /proc/self/fd/1 "$dir/dev/stdout"
ln -s /proc/self/fd/2 "$dir/dev/stderr"
cp /etc/resolv.conf "$dir/etc/resolv.conf"
git clone -q "$root" "$dir/root/salesplan"
chroot "$dir" /usr/bin/env -i HOME=/root LANG=C.UTF-8 \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    sh -c "cd /root/salesplan && sh tools/run.sh $cmd"
