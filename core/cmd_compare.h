#ifndef MLB_CORE_CMD_COMPARE_H
#define MLB_CORE_CMD_COMPARE_H
/* `mlbench-engine compare BASELINE.json NEW.json [--threshold 5%] [--json]`;
 * argv[0] == "compare". Exit code: 0 no significant regression, 1 at least
 * one, 2 usage or input error. */
int mlb_cmd_compare(int argc, char **argv);
#endif
