/*
 * CartPole-v1 and Acrobot-v1, transcribed from gym's classic_control
 * (cartpole.py, acrobot.py, gym 0.26) operation for operation: the same
 * expressions in the same order, in double, so that with the same initial
 * state and actions the trajectories are gym's to the last bit (given the
 * same libm sin and cos). The C11 build does not contract a*b+c into FMA,
 * which would change the rounding.
 */
#include "rl_env.h"

#include <math.h>
#include <string.h>

uint64_t rl_rng_next(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

double rl_rng_uniform(uint64_t *state)
{
    return (double)(rl_rng_next(state) >> 11) * 0x1.0p-53;
}

/* numpy's Generator.uniform(low, high): low + (high - low) * u. */
static double uniform(uint64_t *rng, double low, double high)
{
    return low + (high - low) * rl_rng_uniform(rng);
}

/* ---- CartPole-v1 ------------------------------------------------------- */

#define CP_GRAVITY 9.8
#define CP_MASSCART 1.0
#define CP_MASSPOLE 0.1
#define CP_LENGTH 0.5 /* half the pole's length */
#define CP_FORCE 10.0
#define CP_TAU 0.02
#define CP_X_THRESHOLD 2.4

static void cartpole_reset(rl_env *e)
{
    for (int i = 0; i < 4; i++)
        e->s[i] = uniform(&e->rng, -0.05, 0.05);
}

static double cartpole_step(rl_env *e, int action, int *terminated)
{
    /* gym computes these from its attributes at construction. */
    const double total_mass = CP_MASSPOLE + CP_MASSCART;
    const double polemass_length = CP_MASSPOLE * CP_LENGTH;
    const double theta_threshold = 12 * 2 * M_PI / 360;
    double x = e->s[0], x_dot = e->s[1], theta = e->s[2], theta_dot = e->s[3];
    double force = action == 1 ? CP_FORCE : -CP_FORCE;
    double costheta = cos(theta), sintheta = sin(theta);
    double temp = (force + polemass_length * (theta_dot * theta_dot) * sintheta) / total_mass;
    double thetaacc = (CP_GRAVITY * sintheta - costheta * temp) /
                      (CP_LENGTH * (4.0 / 3.0 - CP_MASSPOLE * (costheta * costheta) / total_mass));
    double xacc = temp - polemass_length * thetaacc * costheta / total_mass;
    /* Euler, gym's default kinematics_integrator. */
    x = x + CP_TAU * x_dot;
    x_dot = x_dot + CP_TAU * xacc;
    theta = theta + CP_TAU * theta_dot;
    theta_dot = theta_dot + CP_TAU * thetaacc;
    e->s[0] = x;
    e->s[1] = x_dot;
    e->s[2] = theta;
    e->s[3] = theta_dot;
    *terminated = x < -CP_X_THRESHOLD || x > CP_X_THRESHOLD || theta < -theta_threshold ||
                  theta > theta_threshold;
    return 1.0; /* also on the terminating step, as in gym */
}

static void cartpole_observe(const rl_env *e, float *obs)
{
    for (int i = 0; i < 4; i++)
        obs[i] = (float)e->s[i];
}

static const rl_env_kind cartpole = {
    .name = "cartpole",
    .state_dim = 4,
    .obs_dim = 4,
    .n_actions = 2,
    .max_steps = 500,
    .solved_threshold = 475.0,
    .reset = cartpole_reset,
    .step = cartpole_step,
    .observe = cartpole_observe,
};

/* ---- Acrobot-v1 (book dynamics) ---------------------------------------- */

#define AC_DT 0.2
#define AC_L1 1.0  /* link lengths, masses, centre-of-mass positions, inertia */
#define AC_M1 1.0
#define AC_M2 1.0
#define AC_LC1 0.5
#define AC_LC2 0.5
#define AC_I1 1.0
#define AC_I2 1.0
#define AC_MAX_VEL_1 (4 * M_PI)
#define AC_MAX_VEL_2 (9 * M_PI)

static void acrobot_reset(rl_env *e)
{
    /* gym casts the initial state to float32. */
    for (int i = 0; i < 4; i++)
        e->s[i] = (double)(float)uniform(&e->rng, -0.1, 0.1);
}

/* gym's _dsdt: (theta1, theta2, dtheta1, dtheta2) and torque a -> d/dt. */
static void acrobot_dsdt(const double s[4], double a, double out[4])
{
    const double g = 9.8;
    double theta1 = s[0], theta2 = s[1], dtheta1 = s[2], dtheta2 = s[3];
    double d1 = AC_M1 * (AC_LC1 * AC_LC1) +
                AC_M2 * (AC_L1 * AC_L1 + AC_LC2 * AC_LC2 + 2 * AC_L1 * AC_LC2 * cos(theta2)) +
                AC_I1 + AC_I2;
    double d2 = AC_M2 * (AC_LC2 * AC_LC2 + AC_L1 * AC_LC2 * cos(theta2)) + AC_I2;
    double phi2 = AC_M2 * AC_LC2 * g * cos(theta1 + theta2 - M_PI / 2.0);
    double phi1 = -AC_M2 * AC_L1 * AC_LC2 * (dtheta2 * dtheta2) * sin(theta2) -
                  2 * AC_M2 * AC_L1 * AC_LC2 * dtheta2 * dtheta1 * sin(theta2) +
                  (AC_M1 * AC_LC1 + AC_M2 * AC_L1) * g * cos(theta1 - M_PI / 2) + phi2;
    double ddtheta2 = (a + d2 / d1 * phi1 - AC_M2 * AC_L1 * AC_LC2 * (dtheta1 * dtheta1) *
                                                sin(theta2) -
                       phi2) /
                      (AC_M2 * (AC_LC2 * AC_LC2) + AC_I2 - (d2 * d2) / d1);
    double ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
    out[0] = dtheta1;
    out[1] = dtheta2;
    out[2] = ddtheta1;
    out[3] = ddtheta2;
}

/* gym's wrap and bound. */
static double wrap(double x, double m, double big_m)
{
    double diff = big_m - m;
    while (x > big_m)
        x = x - diff;
    while (x < m)
        x = x + diff;
    return x;
}

static double bound(double x, double m, double big_m)
{
    double y = x > m ? x : m; /* Python's max(x, m): x unless m is larger */
    return y < big_m ? y : big_m;
}

static double acrobot_step(rl_env *e, int action, int *terminated)
{
    static const double torques[3] = {-1.0, 0.0, 1.0};
    double a = torques[action];
    /* gym's rk4 over t = [0, dt]: one step of the classical scheme. */
    const double dt = AC_DT - 0.0, dt2 = dt / 2.0;
    double y0[4], k1[4], k2[4], k3[4], k4[4], y[4];
    memcpy(y0, e->s, sizeof y0);
    acrobot_dsdt(y0, a, k1);
    for (int i = 0; i < 4; i++)
        y[i] = y0[i] + dt2 * k1[i];
    acrobot_dsdt(y, a, k2);
    for (int i = 0; i < 4; i++)
        y[i] = y0[i] + dt2 * k2[i];
    acrobot_dsdt(y, a, k3);
    for (int i = 0; i < 4; i++)
        y[i] = y0[i] + dt * k3[i];
    acrobot_dsdt(y, a, k4);
    const double h6 = dt / 6.0;
    for (int i = 0; i < 4; i++)
        y[i] = y0[i] + h6 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
    e->s[0] = wrap(y[0], -M_PI, M_PI);
    e->s[1] = wrap(y[1], -M_PI, M_PI);
    e->s[2] = bound(y[2], -AC_MAX_VEL_1, AC_MAX_VEL_1);
    e->s[3] = bound(y[3], -AC_MAX_VEL_2, AC_MAX_VEL_2);
    *terminated = -cos(e->s[0]) - cos(e->s[1] + e->s[0]) > 1.0;
    return *terminated ? 0.0 : -1.0;
}

static void acrobot_observe(const rl_env *e, float *obs)
{
    obs[0] = (float)cos(e->s[0]);
    obs[1] = (float)sin(e->s[0]);
    obs[2] = (float)cos(e->s[1]);
    obs[3] = (float)sin(e->s[1]);
    obs[4] = (float)e->s[2];
    obs[5] = (float)e->s[3];
}

static const rl_env_kind acrobot = {
    .name = "acrobot",
    .state_dim = 4,
    .obs_dim = 6,
    .n_actions = 3,
    .max_steps = 500,
    .solved_threshold = -100.0,
    .reset = acrobot_reset,
    .step = acrobot_step,
    .observe = acrobot_observe,
};

/* ---- the interface ----------------------------------------------------- */

const rl_env_kind *const rl_env_kinds[] = {&cartpole, &acrobot, NULL};

const rl_env_kind *rl_env_find(const char *name)
{
    for (int i = 0; rl_env_kinds[i]; i++)
        if (!strcmp(rl_env_kinds[i]->name, name))
            return rl_env_kinds[i];
    return NULL;
}

void rl_env_init(rl_env *e, const rl_env_kind *k, uint64_t seed)
{
    memset(e, 0, sizeof *e);
    e->kind = k;
    e->rng = seed;
}

void rl_env_reset(rl_env *e, float *obs)
{
    e->kind->reset(e);
    e->steps = 0;
    e->kind->observe(e, obs);
}

double rl_env_step(rl_env *e, int action, float *obs, int *terminated, int *truncated)
{
    double r = e->kind->step(e, action, terminated);
    e->steps++;
    *truncated = !*terminated && e->steps >= e->kind->max_steps;
    e->kind->observe(e, obs);
    return r;
}
