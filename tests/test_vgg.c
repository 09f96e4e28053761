/* Unit tests: the VGG layer table against torchvision's features.N numbering. */
#include "testutil.h"
#include "vgg.h"

static int torch(const cs_vgg *a, const char *name)
{
    int i = cs_vgg_find(a, name);
    return i < 0 ? -1 : a->nodes[i].torch_index;
}

int main(void)
{
    cs_vgg a;
    CHECK(cs_vgg_layout(19, &a) == 0, "vgg19");
    CHECK(a.n_conv == 16 && a.n_nodes == 36, "vgg19: %d convs, %d nodes", a.n_conv, a.n_nodes);
    /* torchvision vgg19.features: conv1_1 0, pool1 4, conv3_4 16, relu4_2 22, relu5_4 35 */
    CHECK(torch(&a, "conv1_1") == 0 && torch(&a, "pool1") == 4 && torch(&a, "conv3_4") == 16, "vgg19 indices");
    CHECK(torch(&a, "relu4_2") == 22 && torch(&a, "relu5_4") == 35, "vgg19 deep indices");
    CHECK(a.cin[0] == 3 && a.cout[0] == 64 && a.cin[4] == 128 && a.cout[15] == 512, "vgg19 channels");
    CHECK(cs_vgg_find(&a, "pool5") < 0, "pool5 is not a loss layer");
    CHECK(cs_vgg_layout(16, &a) == 0, "vgg16");
    CHECK(a.n_conv == 13 && a.n_nodes == 30, "vgg16: %d convs, %d nodes", a.n_conv, a.n_nodes);
    /* torchvision vgg16.features: pool3 16, conv4_1 17, relu4_2 20, relu5_3 29 */
    CHECK(torch(&a, "pool3") == 16 && torch(&a, "conv4_1") == 17 && torch(&a, "relu4_2") == 20, "vgg16 indices");
    CHECK(torch(&a, "relu5_3") == 29 && cs_vgg_find(&a, "conv3_4") < 0, "vgg16 ends at block 5 conv 3");
    CHECK(cs_vgg_layout(11, &a) == -1, "vgg11 is not described");
    CHECK(cs_vgg_layer_exists("conv3_4") && cs_vgg_layer_exists("pool4") && !cs_vgg_layer_exists("relu6_1"), "names");
    CHECK(!cs_vgg_layer_exists("relu1_3") && !cs_vgg_layer_exists("conv1_1x") && !cs_vgg_layer_exists(""), "bad names");
    return tu_done("vgg");
}
