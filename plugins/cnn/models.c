/*
 * The cnn task's architectures, as graphs of NN-core layers. Names and
 * layouts mirror the PyTorch modules in tools/parity/cnn_torch.py, so that
 * a weight file maps one to one onto a PyTorch state_dict and parameter
 * counts agree (docs/cnn.md lists them).
 */
#include "cnn.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Each builder returns the output node or a negative errno. Builders chain
 * node indices; the first negative index short-circuits the rest. */
#define STEP(expr)                                                                                \
    do {                                                                                          \
        if (x >= 0)                                                                               \
            x = (expr);                                                                           \
    } while (0)

/* LeNet-5 (LeCun et al. 1998, in its modern form: ReLU and max pooling):
 * conv 5x5 -> 6 (padded to keep 28x28), pool, conv 5x5 -> 16, pool,
 * 120, 84, classes. */
static int build_lenet5(nn_model *m, int classes)
{
    int x = 0;
    STEP(nn_add_conv(m, "conv1", x, 6, 5, 1, 2, 1));
    STEP(nn_add_relu(m, x));
    STEP(nn_add_maxpool(m, x, 2, 2, 0));
    STEP(nn_add_conv(m, "conv2", x, 16, 5, 1, 0, 1));
    STEP(nn_add_relu(m, x));
    STEP(nn_add_maxpool(m, x, 2, 2, 0));
    STEP(nn_add_flatten(m, x));
    STEP(nn_add_linear(m, "fc1", x, 120, 1));
    STEP(nn_add_relu(m, x));
    STEP(nn_add_linear(m, "fc2", x, 84, 1));
    STEP(nn_add_relu(m, x));
    STEP(nn_add_linear(m, "fc3", x, classes, 1));
    return x;
}

/* SimpleCNN, the common two-block baseline: conv 3x3 -> 32, pool,
 * conv 3x3 -> 64, pool, 128, classes. */
static int build_simplecnn(nn_model *m, int classes)
{
    int x = 0;
    STEP(nn_add_conv(m, "conv1", x, 32, 3, 1, 1, 1));
    STEP(nn_add_relu(m, x));
    STEP(nn_add_maxpool(m, x, 2, 2, 0));
    STEP(nn_add_conv(m, "conv2", x, 64, 3, 1, 1, 1));
    STEP(nn_add_relu(m, x));
    STEP(nn_add_maxpool(m, x, 2, 2, 0));
    STEP(nn_add_flatten(m, x));
    STEP(nn_add_linear(m, "fc1", x, 128, 1));
    STEP(nn_add_relu(m, x));
    STEP(nn_add_linear(m, "fc2", x, classes, 1));
    return x;
}

/* torchvision's BasicBlock: 3x3 conv (stride), BN, ReLU, 3x3 conv, BN, plus
 * the input (through a 1x1 conv + BN "downsample" when the shape changes),
 * ReLU. Convolutions before BN have no bias. */
static int basic_block(nn_model *m, const char *prefix, int in, int planes, int stride)
{
    char name[NN_NAME_MAX];
    int x = in, shortcut = in;
#define NAMED(leaf) (snprintf(name, sizeof name, "%s.%s", prefix, leaf), name)
    STEP(nn_add_conv(m, NAMED("conv1"), x, planes, 3, stride, 1, 0));
    STEP(nn_add_bn(m, NAMED("bn1"), x));
    STEP(nn_add_relu(m, x));
    STEP(nn_add_conv(m, NAMED("conv2"), x, planes, 3, 1, 1, 0));
    STEP(nn_add_bn(m, NAMED("bn2"), x));
    if (x >= 0 && (stride != 1 || m->nodes[in].c != planes)) {
        shortcut = nn_add_conv(m, NAMED("downsample.0"), in, planes, 1, stride, 0, 0);
        if (shortcut >= 0)
            shortcut = nn_add_bn(m, NAMED("downsample.1"), shortcut);
        if (shortcut < 0)
            return shortcut;
    }
#undef NAMED
    STEP(nn_add_add(m, x, shortcut));
    STEP(nn_add_relu(m, x));
    return x;
}

/* ResNet-18 in the form used for 32x32 inputs (CIFAR): a 3x3 stride-1 stem
 * with no max pooling, then four stages of two basic blocks (64, 128, 256,
 * 512 channels; stages 2-4 halve the resolution), global average pooling
 * and one linear layer. */
static int build_resnet18(nn_model *m, int classes)
{
    int x = 0;
    STEP(nn_add_conv(m, "conv1", x, 64, 3, 1, 1, 0));
    STEP(nn_add_bn(m, "bn1", x));
    STEP(nn_add_relu(m, x));
    static const int planes[4] = {64, 128, 256, 512};
    for (int stage = 0; stage < 4 && x >= 0; stage++)
        for (int b = 0; b < 2 && x >= 0; b++) {
            char prefix[32];
            snprintf(prefix, sizeof prefix, "layer%d.%d", stage + 1, b);
            x = basic_block(m, prefix, x, planes[stage], stage > 0 && b == 0 ? 2 : 1);
        }
    STEP(nn_add_gap(m, x));
    STEP(nn_add_linear(m, "fc", x, classes, 1));
    return x;
}

int cnn_model_build(nn_model *m, const char *name, int c, int h, int w, int classes, char *err,
                    size_t errlen)
{
    int rc = nn_model_init(m, c, h, w);
    if (rc < 0) {
        snprintf(err, errlen, "model %s: bad input shape %dx%dx%d", name, c, h, w);
        return rc;
    }
    if (!strcmp(name, "lenet5"))
        rc = build_lenet5(m, classes);
    else if (!strcmp(name, "simplecnn"))
        rc = build_simplecnn(m, classes);
    else if (!strcmp(name, "resnet18"))
        rc = build_resnet18(m, classes);
    else {
        snprintf(err, errlen, "unknown model '%s' (known: %s)", name, CNN_MODEL_NAMES);
        nn_model_free(m);
        return -ENOENT;
    }
    if (rc < 0) {
        snprintf(err, errlen, "model %s cannot take %dx%dx%d inputs (%s)", name, c, h, w,
                 rc == -ENOMEM ? "out of memory" : "a layer's shape does not fit");
        nn_model_free(m);
        return rc;
    }
    return 0;
}
