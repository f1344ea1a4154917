#ifndef MLB_CORE_CMD_DATA_H
#define MLB_CORE_CMD_DATA_H
/* `mlbench-engine data FILE [--format F] [--target T] [--header auto|true|false]
 * [--delimiter D] [--classify] [--json]`; argv[0] == "data". Prints what
 * the engine reads from FILE (a path, a pair "a,b", or a registered name):
 * rows, features, target, classes, and the problems found, so that a file
 * can be checked before a long run. Exit code: 0 the file loads (warnings
 * included); 2 usage error, or the file does not load (the first problem,
 * positioned, on stderr; every problem found on stdout). */
int mlb_cmd_data(int argc, char **argv);
#endif
