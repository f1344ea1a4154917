/* Losses beyond softmax cross-entropy (layers.c), for the tasks whose
 * output gradient is not a classifier's: DQN's Huber loss. */
#include "nn.h"

#include <math.h>

double nn_huber_forward(int n, const nn_real *pred, const nn_real *target, double delta)
{
    double sum = 0;
    for (int i = 0; i < n; i++) {
        double d = fabs((double)pred[i] - (double)target[i]);
        sum += d < delta ? 0.5 * d * d / delta : d - 0.5 * delta;
    }
    return n ? sum / n : 0.0;
}

void nn_huber_backward(int n, const nn_real *pred, const nn_real *target, double delta,
                       nn_real *dpred)
{
    for (int i = 0; i < n; i++) {
        /* The difference in nn_real, as PyTorch takes it in float32. */
        nn_real d = pred[i] - target[i];
        double g = d < -delta ? -delta : d > delta ? delta : (double)d;
        dpred[i] += (nn_real)(g / (delta * n));
    }
}
