#!/usr/bin/env bash
# Boots a real systemd as PID 1 of new pid, mount, cgroup, network, UTS and IPC namespaces, on a
# throwaway overlay of the host's root, with gem's shipped units installed, for
# tests/service/systemd_unit_test.cc. Nothing it does reaches the host: every write goes to the
# overlay's tmpfs upper layer, and the units run in the namespaces' own cgroup subtree.
#
#   systemd_boot.sh STAGE_DIR SOURCE_DIR BIN_DIR
#
# Run it under `unshare --pid --mount --cgroup --net --uts --ipc --fork --propagation private`
# after moving into a fresh cgroup v2 (the test does both). STAGE_DIR must exist and be empty;
# the overlay is assembled in STAGE_DIR/root. Installs, as `cmake --install` would:
#   /usr/local/sbin/gemd, /usr/local/bin/gemctl, /usr/local/libexec/gem/gem-sandbox
#   /etc/systemd/system/{gemd.service,gem-sandbox.socket,gem-sandbox@.service} (unchanged)
#   /usr/lib/sysusers.d/gemd.conf, /usr/lib/tmpfiles.d/gemd.conf, /etc/gemd/gemd.toml (example)
#   /srv/demo_tree (a copy of data/demo_tree)
# and boots into gem-test.target (basic.target only: no getty, no network setup), then gemd's
# units are started by the test with systemctl.
set -euo pipefail
stage="$1" src="$2" bin="$3"
root="$stage/root"
mount -t tmpfs -o mode=0755 tmpfs "$stage"
mkdir -p "$stage/upper" "$stage/work" "$root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$stage/upper,workdir=$stage/work" "$root"
mount -t proc proc "$root/proc"
mount -t sysfs -o ro sysfs "$root/sys"
mount -t cgroup2 cgroup2 "$root/sys/fs/cgroup"
mount --rbind /dev "$root/dev"
mount -t tmpfs -o mode=0755 tmpfs "$root/run"
mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"

install -D -m 0755 "$bin/gemd" "$root/usr/local/sbin/gemd"
install -D -m 0755 "$bin/gemctl" "$root/usr/local/bin/gemctl"
install -D -m 0755 "$bin/gem-sandbox" "$root/usr/local/libexec/gem/gem-sandbox"
install -D -m 0644 "$src/systemd/gemd.service" "$root/etc/systemd/system/gemd.service"
install -D -m 0644 "$src/systemd/gem-sandbox.socket" "$root/etc/systemd/system/gem-sandbox.socket"
install -D -m 0644 "$src/systemd/gem-sandbox@.service" "$root/etc/systemd/system/gem-sandbox@.service"
install -D -m 0644 "$src/systemd/gemd.sysusers" "$root/usr/lib/sysusers.d/gemd.conf"
install -D -m 0644 "$src/systemd/gemd.tmpfiles" "$root/usr/lib/tmpfiles.d/gemd.conf"
install -D -m 0644 "$src/systemd/gemd.toml.example" "$root/etc/gemd/gemd.toml"
rm -rf "$root/srv/demo_tree"
mkdir -p "$root/srv"
cp -r "$src/data/demo_tree" "$root/srv/demo_tree"
chmod -R a+rX "$root/srv/demo_tree"
# Nothing of the host's units should start: the test target wants only basic.target.
cat > "$root/etc/systemd/system/gem-test.target" <<'EOF'
[Unit]
Description=gem test target (basic.target only)
Requires=basic.target
After=basic.target
EOF
# A machine id of its own, so journald and DynamicUser have one.
systemd-machine-id-setup --root="$root" > /dev/null 2>&1 || true

cd "$root"
mkdir -p .oldroot
pivot_root . .oldroot
umount -l /.oldroot
rmdir /.oldroot 2>/dev/null || true
export container=gem-test
exec /lib/systemd/systemd --unit=gem-test.target --show-status=false
