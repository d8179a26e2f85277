# Sourced by run.sh and live-migrate.sh: installs Debian's qemu-system-x86 when
# qemu-system-x86_64 is missing.
if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
    echo "== installing qemu-system-x86"
    sudo=""
    if [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null 2>&1; then sudo="sudo"; fi
    $sudo apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y qemu-system-x86
fi
