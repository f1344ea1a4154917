"""CartPole-v1 and Acrobot-v1 in plain Python: a transcription of gym's
classic_control code (cartpole.py, acrobot.py, gym 0.26), expression for
expression, with the reset generator of plugins/common/rl/rl_env.c (splitmix64)
in place of numpy's, so that a seed gives the C environments' episodes.

Used by the dqn and reinforce PyTorch peers (tools/peers/dqn_torch.py,
reinforce_torch.py) and by tools/parity/rl_env_traces.py, which writes the
reference trajectories that tests/integration/test_rl_env.py compares
mlbench-env-trace with. Standard library only (math, struct)."""
import math
import struct

from mlbench_rng import MASK, SplitMix64  # noqa: F401 (re-exported: rl_env_traces.py, mlbench_rl_torch.py)


def f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


class CartPole:
    name = "cartpole"
    obs_dim, n_actions, max_steps, solved_threshold = 4, 2, 500, 475.0
    gravity, masscart, masspole, length, force_mag, tau = 9.8, 1.0, 0.1, 0.5, 10.0, 0.02
    total_mass = masspole + masscart
    polemass_length = masspole * length
    theta_threshold_radians = 12 * 2 * math.pi / 360
    x_threshold = 2.4

    def __init__(self, seed):
        self.rng = SplitMix64(seed)
        self.state = None

    def reset_state(self):
        self.state = [self.rng.uniform(-0.05, 0.05) for _ in range(4)]

    def step_state(self, action):
        x, x_dot, theta, theta_dot = self.state
        force = self.force_mag if action == 1 else -self.force_mag
        costheta = math.cos(theta)
        sintheta = math.sin(theta)
        temp = (force + self.polemass_length * theta_dot**2 * sintheta) / self.total_mass
        thetaacc = (self.gravity * sintheta - costheta * temp) / (
            self.length * (4.0 / 3.0 - self.masspole * costheta**2 / self.total_mass))
        xacc = temp - self.polemass_length * thetaacc * costheta / self.total_mass
        x = x + self.tau * x_dot
        x_dot = x_dot + self.tau * xacc
        theta = theta + self.tau * theta_dot
        theta_dot = theta_dot + self.tau * thetaacc
        self.state = [x, x_dot, theta, theta_dot]
        terminated = bool(x < -self.x_threshold or x > self.x_threshold
                          or theta < -self.theta_threshold_radians
                          or theta > self.theta_threshold_radians)
        return 1.0, terminated

    def observe(self):
        return list(self.state)


def _wrap(x, m, big_m):
    diff = big_m - m
    while x > big_m:
        x = x - diff
    while x < m:
        x = x + diff
    return x


def _bound(x, m, big_m):
    return min(max(x, m), big_m)


class Acrobot:
    name = "acrobot"
    obs_dim, n_actions, max_steps, solved_threshold = 6, 3, 500, -100.0
    dt = 0.2
    LINK_LENGTH_1 = 1.0
    LINK_MASS_1 = 1.0
    LINK_MASS_2 = 1.0
    LINK_COM_POS_1 = 0.5
    LINK_COM_POS_2 = 0.5
    LINK_MOI = 1.0
    MAX_VEL_1 = 4 * math.pi
    MAX_VEL_2 = 9 * math.pi
    AVAIL_TORQUE = [-1.0, 0.0, +1]

    def __init__(self, seed):
        self.rng = SplitMix64(seed)
        self.state = None

    def reset_state(self):
        # gym: uniform(-0.1, 0.1, size=4).astype(np.float32)
        self.state = [f32(self.rng.uniform(-0.1, 0.1)) for _ in range(4)]

    def _dsdt(self, s, a):
        m1, m2 = self.LINK_MASS_1, self.LINK_MASS_2
        l1 = self.LINK_LENGTH_1
        lc1, lc2 = self.LINK_COM_POS_1, self.LINK_COM_POS_2
        I1 = I2 = self.LINK_MOI
        g = 9.8
        theta1, theta2, dtheta1, dtheta2 = s
        cos, sin, pi = math.cos, math.sin, math.pi
        d1 = (m1 * lc1**2 + m2 * (l1**2 + lc2**2 + 2 * l1 * lc2 * cos(theta2)) + I1 + I2)
        d2 = m2 * (lc2**2 + l1 * lc2 * cos(theta2)) + I2
        phi2 = m2 * lc2 * g * cos(theta1 + theta2 - pi / 2.0)
        phi1 = (-m2 * l1 * lc2 * dtheta2**2 * sin(theta2)
                - 2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * sin(theta2)
                + (m1 * lc1 + m2 * l1) * g * cos(theta1 - pi / 2)
                + phi2)
        ddtheta2 = ((a + d2 / d1 * phi1 - m2 * l1 * lc2 * dtheta1**2 * sin(theta2) - phi2)
                    / (m2 * lc2**2 + I2 - d2**2 / d1))
        ddtheta1 = -(d2 * ddtheta2 + phi1) / d1
        return [dtheta1, dtheta2, ddtheta1, ddtheta2]

    def step_state(self, action):
        a = self.AVAIL_TORQUE[action]
        y0 = [float(v) for v in self.state]
        # gym's rk4 over t = [0, dt]
        dt = self.dt - 0
        dt2 = dt / 2.0
        k1 = self._dsdt(y0, a)
        k2 = self._dsdt([y + dt2 * k for y, k in zip(y0, k1)], a)
        k3 = self._dsdt([y + dt2 * k for y, k in zip(y0, k2)], a)
        k4 = self._dsdt([y + dt * k for y, k in zip(y0, k3)], a)
        ns = [y + dt / 6.0 * (p + 2 * q + 2 * r + s)
              for y, p, q, r, s in zip(y0, k1, k2, k3, k4)]
        ns[0] = _wrap(ns[0], -math.pi, math.pi)
        ns[1] = _wrap(ns[1], -math.pi, math.pi)
        ns[2] = _bound(ns[2], -self.MAX_VEL_1, self.MAX_VEL_1)
        ns[3] = _bound(ns[3], -self.MAX_VEL_2, self.MAX_VEL_2)
        self.state = ns
        s = ns
        terminated = bool(-math.cos(s[0]) - math.cos(s[1] + s[0]) > 1.0)
        return (-1.0 if not terminated else 0.0), terminated

    def observe(self):
        s = self.state
        return [math.cos(s[0]), math.sin(s[0]), math.cos(s[1]), math.sin(s[1]), s[2], s[3]]


ENVS = {"cartpole": CartPole, "acrobot": Acrobot}


class Env:
    """One environment instance with gym's interface: reset() -> obs,
    step(a) -> (obs, reward, terminated, truncated); obs as a list of
    doubles (the peers round them to float32, as gym does)."""

    def __init__(self, name, seed):
        self.e = ENVS[name](seed)
        self.obs_dim, self.n_actions = self.e.obs_dim, self.e.n_actions
        self.max_steps, self.solved_threshold = self.e.max_steps, self.e.solved_threshold
        self.steps = 0

    def reset(self):
        self.e.reset_state()
        self.steps = 0
        return self.e.observe()

    def step(self, action):
        r, term = self.e.step_state(action)
        self.steps += 1
        trunc = (not term) and self.steps >= self.max_steps
        return self.e.observe(), r, term, trunc

    @property
    def state(self):
        return self.e.state
