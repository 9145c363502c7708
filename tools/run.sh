#!/bin/sh
# The README's two commands, on a fresh Debian 12 machine (as root, or with sudo):
#   sh tools/run.sh demo   build, then run the end-to-end demo on generated data
#   sh tools/run.sh test   build, run every test, again under ASan+UBSan (clang) and
#                          valgrind, and check the ABI against abi/libsalesplan.abi
#   sh tools/run.sh bench  every benchmark on the release build, one table (tools/bench.py)
# Each installs the Debian packages it needs when they are missing.
set -eu
cd "$(dirname "$0")/.."

DEMO_PACKAGES="meson ninja-build gcc libc6-dev pkg-config python3"
TEST_PACKAGES="$DEMO_PACKAGES g++ clang libcmocka-dev abigail-tools valgrind binutils doxygen"

install_missing() {
    missing=""
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
            missing="$missing $p"
    done
    [ -z "$missing" ] && return 0
    echo "run.sh: installing$missing"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing
}

# setup DIR [meson options...]: configure DIR once; later runs reuse it.
setup() {
    dir=$1
    shift
    if [ -f "$dir/build.ninja" ]; then
        return 0
    fi
    meson setup "$dir" "$@"
}

run_demo() {
    install_missing $DEMO_PACKAGES
    setup build
    meson compile -C build
    # The demo's file store lives in the build directory, out of the source tree.
    build/tools/salesplan-demo --store build/salesplan-demo.store "$@"
}

run_tests() {
    install_missing $TEST_PACKAGES
    echo "== build (gcc) and test"
    setup build
    meson compile -C build
    meson test -C build --print-errorlogs

    echo "== AddressSanitizer + UndefinedBehaviorSanitizer (clang)"
    CC=clang CXX=clang++ setup build-asan -Db_sanitize=address,undefined -Db_lundef=false \
        -Dc_args=-fno-sanitize-recover=all -Dcpp_args=-fno-sanitize-recover=all -Dbench=false
    meson compile -C build-asan
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
        meson test -C build-asan --print-errorlogs --no-suite abi --no-suite subproject

    echo "== valgrind"
    meson test -C build --setup valgrind --print-errorlogs --suite unit
}

case "${1:-}" in
demo) shift; run_demo "$@" ;;
test) run_tests ;;
bench) shift; install_missing python3; exec /usr/bin/python3 tools/bench.py "$@" ;;
*) echo "usage: sh tools/run.sh demo|test|bench" >&2; exit 2 ;;
esac
