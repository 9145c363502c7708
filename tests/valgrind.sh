#!/bin/sh
# The exe_wrapper of `meson test --setup valgrind` (tests/meson.build): meson puts it in
# front of every test command. A compiled test runs under memcheck; errors and definite
# or indirect leaks fail it. A test that is a script (python3, sh) is not our code: it
# runs as it is, with SPT_EXEC_WRAPPER set so that it starts the programs it checks
# (examples, the demo, the SQLite host) under memcheck.
vg="valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect --track-origins=yes --quiet"
case "${1##*/}" in
python*|sh|dash|bash)
    SPT_EXEC_WRAPPER=$vg
    export SPT_EXEC_WRAPPER
    exec "$@"
    ;;
esac
exec $vg "$@"
