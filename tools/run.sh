#!/bin/sh
# The README's two commands, on a fresh Debian 12 machine (as root, or with sudo):
#   sh tools/run.sh demo   build, then run the end-to-end demo on generated data
#   sh tools/run.sh test   build and run every test in every configuration: the stages of
#                          docs/testing.md, each even when an earlier one failed, then a
#                          table of the stages; the exit status is non-zero when any failed
#   sh tools/run.sh test STAGE...   only these stages (names as in the table)
#   sh tools/run.sh bench  every benchmark on the release build, one table (tools/bench.py,
#                          docs/performance.md)
# Each installs the Debian packages it needs when they are missing.
set -eu
cd "$(dirname "$0")/.."

# The demo: meson (which brings ninja and python3), a C compiler and the C library's
# headers. Nothing of the tests: the build finds no cmocka and builds no tests.
DEMO_PACKAGES="meson ninja-build gcc libc6-dev python3"
# The tests add cmocka and pkg-config to find it, SQLite (the SQLite host example and its
# backend's conformance test), g++ (the headers' C++ check), clang and its sanitizer
# runtimes (libclang-rt-14-dev is only a recommendation of clang's, and recommendations
# are not installed here), valgrind, abigail-tools and binutils (abidiff, nm), gcovr, and
# doxygen (the API reference and its completeness check).
# pytest runs the Python package's suite, with numpy and pandas for its numpy and pandas
# parts (Debian's packages, for /usr/bin/python3).
TEST_PACKAGES="$DEMO_PACKAGES pkg-config libcmocka-dev libsqlite3-dev g++ clang libclang-rt-14-dev
    valgrind abigail-tools binutils gcovr doxygen python3-pytest python3-numpy python3-pandas"

# The coverage floor of src/ (docs/testing.md says how it is measured and why these).
COVERAGE_MIN_LINES=95
COVERAGE_MIN_BRANCHES=85

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

# setup DIR -Dname=value...: configure DIR with these options and the compilers in $CC and
# $CXX. run.sh records what it configured in DIR/run-sh.stamp (with a checksum of meson's
# record of the options given on the command line), and a later run
#  - reuses DIR when all is the same (meson regenerates it when a meson.build changes);
#  - applies new values with --reconfigure when only values differ: every option run.sh
#    ever set there is given again, so none keeps an old value;
#  - deletes DIR and configures it afresh when the compilers, meson's version or the option
#    names differ, or DIR has no stamp (configured by hand, or a setup that failed), or its
#    options were changed since (`meson configure`): no stale setting survives.
setup() {
    dir=$1
    shift
    # The bindings' interpreter: Debian's, which sees Debian's Python packages (another
    # python3 may come first on PATH).
    set -- "$@" -Dpython=/usr/bin/python3
    key="cc=${CC:-} cxx=${CXX:-} meson=$(meson --version) options=$(
        for o in "$@"; do echo "${o%%=*}"; done | sort | tr '\n' ' ')"
    stamp="$dir/run-sh.stamp"
    cmdline="$dir/meson-private/cmd_line.txt"
    if [ -f "$stamp" ] && [ -f "$cmdline" ] && [ -f "$dir/build.ninja" ] &&
        [ "$(sed -n 1p "$stamp")" = "$key" ] &&
        [ "$(sed -n 3p "$stamp")" = "$(cksum < "$cmdline")" ]; then
        [ "$(sed -n 2p "$stamp")" = "$*" ] && return 0
        rm -f "$stamp"
        meson setup --reconfigure "$dir" "$@"
    else
        # Not `meson setup --wipe`: it keeps the options of the old command line.
        rm -rf "$dir"
        meson setup "$dir" "$@"
    fi
    printf '%s\n%s\n%s\n' "$key" "$*" "$(cksum < "$cmdline")" > "$stamp"
}

run_demo() {
    install_missing $DEMO_PACKAGES
    # The tests are built when cmocka happens to be there (tests=auto); the test command
    # configures the same directory with tests=enabled.
    CC=gcc CXX=g++ setup build -Dtests=auto -Dabi_check=auto
    meson compile -C build
    # The demo's file store lives in the build directory, out of the source tree.
    build/tools/salesplan-demo --store build/salesplan-demo.store "$@"
}

# ---- the stages of the test command (docs/testing.md) ----

# The library, the tools (the demo) and the examples build where no test dependency can be
# found: the demo's options (tests=auto), with meson finding no dependency at all
# (tools/no-deps.ini) and downloading no wrap. The demo passes there.
stage_no_test_deps() {
    CC=gcc CXX=g++ setup build-nodeps -Dtests=auto -Dabi_check=auto -Dwrap_mode=nodownload \
        --native-file="$PWD/tools/no-deps.ini"
    meson compile -C build-nodeps
    [ "$(meson introspect --tests build-nodeps)" = "[]" ] || {
        echo "tests were configured although no dependency can be found"
        return 1
    }
    for f in src/libsalesplan.so.1 src/libsalesplan.a tools/salesplan-demo examples/quickstart \
        examples/fact_source; do
        [ -f "build-nodeps/$f" ] || { echo "build-nodeps/$f was not built"; return 1; }
    done
    build-nodeps/tools/salesplan-demo --small --store build-nodeps/demo.store > build-nodeps/demo.out
    tail -n 1 build-nodeps/demo.out | grep -qx "all checks passed"
    echo "the library, the demo and the examples build with no dependency found; the demo passes"
}

# The default build (debugoptimized, -Werror) with gcc, which the abi and valgrind stages
# use too.
default_build() {
    CC=gcc CXX=g++ setup build -Dtests=enabled -Dabi_check=enabled
}

# The default build: every test but the abi suite.
stage_gcc() {
    default_build
    meson compile -C build
    meson test -C build --print-errorlogs --no-suite abi
    test_summaries build
}

# test_summaries DIR: each test program's own summary line from the last meson test run in
# DIR (cmocka's "[  PASSED  ] 12 test(s).", pytest's "== 80 passed in 2.1s =="), after
# the test's name, so that the log shows the tests that ran and not only the programs.
test_summaries() {
    awk '/^test: / { name = $NF }
         /^\[  (PASSED|FAILED)  \]|^=+ .*(passed|failed|error).* in [0-9.]+s/ {
             printf "  %-28s %s\n", name, $0 }' "$1/meson-logs/testlog.txt"
}

# The exported symbols against the version script and the headers, and abidiff against
# abi/libsalesplan.abi, on the default build.
stage_abi() {
    default_build
    meson test -C build --print-errorlogs --suite abi
}

# The default build's tests under memcheck (tests/valgrind.sh): every suite that runs our
# C code. Not the abi suite: nm and abidiff read the library and run none of its code.
stage_valgrind() {
    default_build
    meson test -C build --setup valgrind --print-errorlogs --no-suite abi --no-suite docs \
        --no-suite python
}

# clang with AddressSanitizer (leaks included) and UndefinedBehaviorSanitizer, any report
# fatal. Not the abi suite (it checks the default build), nor the subproject one (it
# builds its own copy of the library, without the sanitizers), nor the python one (the
# interpreter is not built with the sanitizers' runtime).
stage_asan_ubsan() {
    CC=clang CXX=clang++ setup build-asan -Dtests=enabled -Dbench=false \
        -Db_sanitize=address,undefined -Db_lundef=false \
        -Dc_args=-fno-sanitize-recover=all -Dcpp_args=-fno-sanitize-recover=all
    meson compile -C build-asan
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
        meson test -C build-asan --print-errorlogs --no-suite abi --no-suite subproject \
        --no-suite docs --no-suite python
}

# clang with ThreadSanitizer: the threads suite, where four threads use a context each at
# the same time. Only it: no other test starts a thread, and TSan reports races between
# threads, so only its program (and the library) is built. TSan of clang 14 fails to start
# where the kernel randomises more address bits than it knows (vm.mmap_rnd_bits 32 of newer
# kernels; Debian 12 has 28): setarch -R turns the randomisation off for the test.
stage_tsan() {
    CC=clang CXX=clang++ setup build-tsan -Dtests=enabled -Dbench=false \
        -Db_sanitize=thread -Db_lundef=false
    meson compile -C build-tsan tests/test_threads
    norandom=""
    if setarch "$(uname -m)" -R true 2>/dev/null; then
        norandom="setarch $(uname -m) -R"
    fi
    TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
        $norandom meson test -C build-tsan --no-rebuild --print-errorlogs --suite threads
}

# The release build (-O3, NDEBUG, -Werror) with one compiler; its tests but the abi suite
# (which checks the default build) and the subproject one (which builds its own copy).
release() {
    dir=$1
    shift
    setup "$dir" -Dtests=enabled -Dbuildtype=release -Db_ndebug=true -Dwerror=true
    meson compile -C "$dir"
    meson test -C "$dir" --print-errorlogs --no-suite abi --no-suite subproject --no-suite docs
    test_summaries "$dir"
}
stage_release_gcc() {
    CC=gcc CXX=g++ release build-release-gcc
}
stage_release_clang() {
    CC=clang CXX=clang++ release build-release-clang
}

# Line and branch coverage of src/ by the unit, fuzz and examples suites, with gcc at -O0
# (docs/testing.md); below the floor fails.
stage_coverage() {
    CC=gcc CXX=g++ setup build-coverage -Dtests=enabled -Dbench=false -Dbuildtype=debug \
        -Db_coverage=true
    meson compile -C build-coverage
    # Counts of an earlier run would add to this one's.
    find build-coverage -name '*.gcda' -delete
    meson test -C build-coverage --print-errorlogs --suite unit --suite fuzz --suite examples
    gcovr --root . --filter src/ --exclude-unreachable-branches -j 2 --print-summary \
        --fail-under-line "$COVERAGE_MIN_LINES" --fail-under-branch "$COVERAGE_MIN_BRANCHES" \
        build-coverage
}

STAGES="no-test-deps gcc abi valgrind asan+ubsan tsan release-gcc release-clang coverage"

# stage NAME: run the stage's function (stage_ and the name with - and + as _) in a subshell
# that stops at its first failing command; record its result and time, and return 0
# whatever happened, so that the next stage runs.
stage() {
    echo
    echo "== $1"
    start=$(date +%s)
    set +e
    (
        set -e
        "stage_$(echo "$1" | tr -- '-+' '__')"
    )
    rc=$?
    set -e
    result=ok
    if [ "$rc" -eq 0 ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        result=FAILED
    fi
    summary="$summary$(printf '%-16s %-7s %7s' "$1" "$result" "$(($(date +%s) - start))")
"
}

run_tests() {
    for s in "$@"; do
        case " $STAGES " in
        *" $s "*) ;;
        *) echo "run.sh: no stage $s (stages: $STAGES)" >&2; return 2 ;;
        esac
    done
    [ $# -gt 0 ] || set -- $STAGES
    install_missing $TEST_PACKAGES
    passed=0
    failed=0
    summary=""
    begin=$(date +%s)
    for s in "$@"; do
        stage "$s"
    done
    echo
    printf '%-16s %-7s %7s\n' stage result seconds
    printf '%s' "$summary"
    printf '%-16s %-7s %7s\n' total "" "$(($(date +%s) - begin))"
    echo "stages: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}

case "${1:-}" in
demo) shift; run_demo "$@" ;;
test) shift; run_tests "$@" ;;
bench) shift; install_missing python3; exec /usr/bin/python3 tools/bench.py "$@" ;;
*) echo "usage: sh tools/run.sh demo [demo options] | test [stage...] | bench [options]" >&2
   exit 2 ;;
esac
