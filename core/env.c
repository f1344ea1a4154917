#include <dlfcn.h>
#include <gsl/gsl_version.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <yaml.h>

#include "env.h"
#include "version.h"

#ifndef MLB_VERSION
#define MLB_VERSION "unknown"
#endif
#ifndef MLB_CFLAGS
#define MLB_CFLAGS ""
#endif

void mlb_utc_stamp(char *buf, size_t len, int compact)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, compact ? "%Y%m%dT%H%M%SZ" : "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static char *read_first_line(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return NULL;
    char line[512];
    char *r = NULL;
    if (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        r = strdup(line);
    }
    fclose(f);
    return r;
}

static void add_str_or_null(cJSON *o, const char *k, const char *v)
{
    if (v)
        cJSON_AddStringToObject(o, k, v);
    else
        cJSON_AddNullToObject(o, k);
}

static void cpu_info(cJSON *env)
{
    FILE *f = fopen("/proc/cpuinfo", "re");
    char line[512], model[256] = "";
    double mhz = 0;
    while (f && fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        if (!model[0] && !strncmp(line, "model name", 10)) {
            snprintf(model, sizeof model, "%s", colon + 2);
            model[strcspn(model, "\n")] = '\0';
        } else if (mhz == 0 && !strncmp(line, "cpu MHz", 7))
            mhz = atof(colon + 1);
    }
    if (f)
        fclose(f);
    add_str_or_null(env, "cpu_model", model[0] ? model : NULL);
    cJSON_AddNumberToObject(env, "cpu_cores_online", (double)sysconf(_SC_NPROCESSORS_ONLN));
    if (mhz > 0)
        cJSON_AddNumberToObject(env, "cpu_mhz", mhz);
    else
        cJSON_AddNullToObject(env, "cpu_mhz");
    char *gov = read_first_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor");
    add_str_or_null(env, "cpu_governor", gov);
    free(gov);
}

/* OpenBLAS's build configuration, through the library the plugins use; dlopen
 * keeps the engine itself free of a link-time BLAS dependency. */
static void openblas_info(cJSON *env)
{
    void *h = dlopen("libopenblas.so.0", RTLD_LAZY | RTLD_LOCAL);
    if (!h) {
        cJSON_AddNullToObject(env, "openblas_config");
        return;
    }
    char *(*get_config)(void);
    int (*get_threads)(void);
    *(void **)&get_config = dlsym(h, "openblas_get_config");
    *(void **)&get_threads = dlsym(h, "openblas_get_num_threads");
    add_str_or_null(env, "openblas_config", get_config ? get_config() : NULL);
    if (get_threads)
        cJSON_AddNumberToObject(env, "openblas_default_threads", get_threads());
    /* Not closed: OpenBLAS's thread pool does not survive an unload. */
}

cJSON *mlb_env_collect(int argc, char **argv, uint64_t seed)
{
    cJSON *env = cJSON_CreateObject();
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    cJSON_AddStringToObject(env, "hostname", host);
    cpu_info(env);
    struct utsname u;
    if (uname(&u) == 0) {
        char k[512];
        snprintf(k, sizeof k, "%s %s %s", u.sysname, u.release, u.machine);
        cJSON_AddStringToObject(env, "kernel", k);
    }
    char *os = NULL;
    FILE *f = fopen("/etc/os-release", "re");
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "PRETTY_NAME=", 12)) {
            line[strcspn(line, "\n")] = '\0';
            char *v = line + 12;
            if (*v == '"') {
                v++;
                v[strcspn(v, "\"")] = '\0';
            }
            os = strdup(v);
        }
    if (f)
        fclose(f);
    add_str_or_null(env, "os", os);
    free(os);
#ifdef __VERSION__
    cJSON_AddStringToObject(env, "compiler", "gcc-compatible " __VERSION__);
#endif
    cJSON_AddStringToObject(env, "cflags", MLB_CFLAGS);
    openblas_info(env);
    cJSON_AddStringToObject(env, "gsl_version", GSL_VERSION);
    cJSON_AddStringToObject(env, "libyaml_version", yaml_get_version_string());
    cJSON_AddStringToObject(env, "cjson_version", cJSON_Version());
    cJSON_AddStringToObject(env, "engine_version", MLB_VERSION);
    cJSON_AddStringToObject(env, "git_commit", MLB_GIT_COMMIT);
    char ts[64];
    mlb_utc_stamp(ts, sizeof ts, 0);
    cJSON_AddStringToObject(env, "timestamp_utc", ts);
    cJSON *cmd = cJSON_AddArrayToObject(env, "command_line");
    for (int i = 0; i < argc; i++)
        cJSON_AddItemToArray(cmd, cJSON_CreateString(argv[i]));
    cJSON_AddNumberToObject(env, "seed", (double)seed);
    const char *vars[] = {"OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_CORETYPE"};
    cJSON *ev = cJSON_AddObjectToObject(env, "env_vars");
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        const char *v = getenv(vars[i]);
        if (v)
            cJSON_AddStringToObject(ev, vars[i], v);
    }
    return env;
}
