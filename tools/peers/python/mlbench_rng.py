"""The NN core's generator in Python: splitmix64 (nn_rng, mlb_rand_u64,
plugins/common/rl/rl_env.c's reset generator) and nn_rng_below's rejection
sampling, so that a peer draws what the plugin draws from the same seed.
Standard library only."""
MASK = (1 << 64) - 1
# The shuffle's seed is the run's seed ^ "shuffle!" (plugins/nn/classifier.c).
SHUFFLE_SALT = 0x73687566666c6521


class SplitMix64:
    def __init__(self, seed):
        self.s = seed & MASK

    def next(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & MASK
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def uniform(self, low=0.0, high=1.0):
        # numpy's Generator.uniform: low + (high - low) * u
        return low + (high - low) * ((self.next() >> 11) * 2.0 ** -53)

    def below(self, n):
        """nn_rng_below: uniform in 0..n-1 without modulo bias."""
        limit = MASK - MASK % n
        while True:
            x = self.next()
            if x < limit:
                return x % n


def epoch_orders(seed, n, epochs):
    """The training order of each epoch as nn_clf_train draws it: one
    Fisher-Yates pass per epoch over the previous epoch's order."""
    rng = SplitMix64(seed ^ SHUFFLE_SALT)
    order, out = list(range(n)), []
    for _ in range(epochs):
        for i in range(n - 1, 0, -1):
            j = rng.below(i + 1)
            order[i], order[j] = order[j], order[i]
        out.append(list(order))
    return out
