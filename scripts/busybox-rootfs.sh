#!/usr/bin/env bash
# Write a busybox root filesystem tar (from Debian's busybox-static) to $1.
# It is what an offline `busybox` image is made from.
set -euo pipefail
out=${1:?usage: busybox-rootfs.sh OUT.tar}
bb=/bin/busybox
[[ -x $bb ]] || { echo "busybox-rootfs: $bb missing (apt-get install busybox-static)" >&2; exit 1; }
# Debian's busybox-static installs a static binary; make sure this one is it.
if ldd "$bb" >/dev/null 2>&1; then echo "busybox-rootfs: $bb is not static" >&2; exit 1; fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,dev,etc,home,proc,root,sys,tmp,usr/bin,usr/sbin,sbin,var/www}
chmod 1777 "$root/tmp"
chmod 700 "$root/root"
cp "$bb" "$root/bin/busybox"
for applet in $("$bb" --list); do
  [[ -e "$root/bin/$applet" ]] || ln -s busybox "$root/bin/$applet"
done
cat > "$root/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
P
cat > "$root/etc/group" <<'G'
root:x:0:
daemon:x:1:
nogroup:x:65534:
G
: > "$root/etc/hosts"
: > "$root/etc/resolv.conf"
# Fixed times and owners: the same busybox gives the same tar, so the same image ID.
find "$root" -exec touch -h -d '2024-01-01 00:00:00 UTC' {} +
tar --sort=name --numeric-owner --owner=0 --group=0 -C "$root" -cf "$out" .
