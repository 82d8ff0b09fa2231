#!/bin/sh
# Provision this machine for the integration tests. Idempotent; run as root:
#   sudo sh tooling/test-utils/provision-test-host.sh
#
# - installs openssh-server and sudo with apt when missing (the suite starts its own sshd on
#   127.0.0.1 with a temp config; no system sshd is enabled or started here);
# - creates the throwaway test user `mcpsshtest` (login shell bash) with sudo rights that
#   REQUIRE a password. Its password and its authorized key are NOT set here: the test run
#   generates both at start (random password via chpasswd, fresh ed25519 key) and never
#   writes them to the repository.
set -eu

TEST_USER="${MCP_SSH_TEST_USER:-mcpsshtest}"

if [ "$(id -u)" -ne 0 ]; then
  echo "provision-test-host: must run as root. Run: sudo sh $0" >&2
  exit 1
fi

missing=""
[ -x /usr/sbin/sshd ] || missing="$missing openssh-server"
# Login shells the shell tests switch the test user to: zsh, busybox ash (dash is Debian's sh).
command -v zsh >/dev/null 2>&1 || missing="$missing zsh"
command -v busybox >/dev/null 2>&1 || missing="$missing busybox"
command -v sudo >/dev/null 2>&1 || missing="$missing sudo"
# Full-screen programs the shell tests drive: less, vi, top.
command -v less >/dev/null 2>&1 || missing="$missing less"
command -v vi >/dev/null 2>&1 || missing="$missing vim-tiny"
command -v top >/dev/null 2>&1 || missing="$missing procps"
command -v ssh-keygen >/dev/null 2>&1 || missing="$missing openssh-client"
# The dashboard's browser tests drive Debian's Chromium (puppeteer-core downloads no browser).
[ -x /usr/bin/chromium ] || missing="$missing chromium"
if [ -n "$missing" ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "provision-test-host: missing$missing and no apt-get; install them by hand" >&2
    exit 1
  fi
  echo "provision-test-host: installing$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
  # Debian's postinst may start a system sshd on :22; the suite does not need it.
  if command -v service >/dev/null 2>&1; then service ssh stop >/dev/null 2>&1 || true; fi
fi
mkdir -p /run/sshd
chmod 0755 /run/sshd
# busybox picks its applet from argv[0]: a login shell named ash runs ash.
ln -sf "$(command -v busybox)" /usr/local/bin/ash
# A login shell the session does not know by name (a renamed bash), for the fallback path.
ln -sf /bin/bash /usr/local/bin/mcp-unknown-shell

if ! id "$TEST_USER" >/dev/null 2>&1; then
  echo "provision-test-host: creating user $TEST_USER" >&2
  useradd -m -s /bin/bash "$TEST_USER"
fi
home=$(getent passwd "$TEST_USER" | cut -d: -f6)
install -d -m 0700 -o "$TEST_USER" -g "$(id -gn "$TEST_USER")" "$home/.ssh"
# Without a ~/.zshrc, zsh starts its interactive new-user wizard.
[ -f "$home/.zshrc" ] || install -m 0644 -o "$TEST_USER" -g "$(id -gn "$TEST_USER")" /dev/null "$home/.zshrc"

sudoers="/etc/sudoers.d/90-$TEST_USER"
# Everything needs the password, except /usr/bin/id (the last matching rule wins): lets the tests
# show both a password prompt and NOPASSWD.
want="$TEST_USER ALL=(ALL:ALL) ALL
$TEST_USER ALL=(ALL:ALL) NOPASSWD: /usr/bin/id"
if [ ! -f "$sudoers" ] || [ "$(cat "$sudoers")" != "$want" ]; then
  tmp=$(mktemp)
  printf '%s\n' "$want" >"$tmp"
  visudo -cqf "$tmp"
  install -m 0440 -o root -g root "$tmp" "$sudoers"
  rm -f "$tmp"
fi

echo "provision-test-host: ready (sshd $(/usr/sbin/sshd -V 2>&1 | head -n1 || true), user $TEST_USER)" >&2
