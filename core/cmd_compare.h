#ifndef MLB_CORE_CMD_COMPARE_H
#define MLB_CORE_CMD_COMPARE_H
/* `mlbench-engine compare BASELINE.json NEW.json [--threshold 5%]
 * [--mem-threshold 10%] [--min-seconds 0] [--json]`; argv[0] == "compare".
 * Pairs runs by task, variant and workload parameters and judges train time,
 * infer latency per query, peak RSS and quality metrics with the engine's
 * verdict rule (docs/methodology.md, "Regression gate"). Exit code: 0 no
 * regression and no failed NEW run (inconclusive changes are printed, not
 * failed); 1 a regression, or a NEW run with a repetition that did not
 * succeed; 2 usage or input error, no pair of runs, or nothing comparable. */
int mlb_cmd_compare(int argc, char **argv);
#endif
