#!/usr/bin/env bash
# Makes sure a Docker engine runs and the two images Skiff's pods use exist,
# built locally because no registry is reachable: busybox:latest (Debian's
# busybox-static, imported with `docker import`) and skiff/pause:3.10, the
# sandbox image that holds each pod's network namespace (a busybox that
# sleeps forever and exits on SIGTERM).
set -euo pipefail

if ! timeout 5 docker info >/dev/null 2>&1; then
  echo "skiff: starting dockerd (log: /var/log/skiff-dockerd.log)"
  nohup dockerd >/var/log/skiff-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do timeout 5 docker info >/dev/null 2>&1 && break; sleep 0.5; done
  timeout 5 docker info >/dev/null 2>&1 || { echo "skiff: dockerd did not start; see /var/log/skiff-dockerd.log"; exit 1; }
fi

build_rootfs() {
  local dir=$1
  mkdir -p "$dir/bin" "$dir/tmp" "$dir/etc" "$dir/var/www" "$dir/root"
  cp /bin/busybox "$dir/bin/busybox"
  for app in $(/bin/busybox --list); do [ "$app" = busybox ] || ln -sf busybox "$dir/bin/$app"; done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$dir/etc/passwd"
  echo 'nobody:x:65534:65534:nobody:/:/bin/false' >>"$dir/etc/passwd"
  echo 'root:x:0:' >"$dir/etc/group"
  echo 'nogroup:x:65534:' >>"$dir/etc/group"
  chmod 1777 "$dir/tmp"
}

if ! docker image inspect busybox:latest >/dev/null 2>&1; then
  echo "skiff: building image busybox:latest from busybox-static"
  tmp=$(mktemp -d); build_rootfs "$tmp"
  tar -C "$tmp" -c . | docker import -c 'CMD ["sh"]' -c 'ENV PATH=/bin' - busybox:latest >/dev/null
  rm -rf "$tmp"
fi

if ! docker image inspect skiff/pause:3.10 >/dev/null 2>&1; then
  echo "skiff: building image skiff/pause:3.10"
  tmp=$(mktemp -d); build_rootfs "$tmp"
  # trap so SIGTERM ends it at once; sleep in the background so the trap runs.
  cat >"$tmp/pause" <<'SH'
#!/bin/sh
trap 'exit 0' TERM INT
while :; do sleep 3600 & wait $!; done
SH
  chmod +x "$tmp/pause"
  tar -C "$tmp" -c . | docker import -c 'ENTRYPOINT ["/pause"]' -c 'ENV PATH=/bin' - skiff/pause:3.10 >/dev/null
  rm -rf "$tmp"
fi
