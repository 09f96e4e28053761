#include "weights_id.h"

#include <string.h>

#include "error.h"
#include "sha256.h"

/* Digests as published next to each file; tools/demo checks its download
 * against the same values. torchvision itself ships .pth files, not
 * safetensors; timm's *.tv_in1k files hold torchvision's weights. */
static const struct { const char *sha256, *name; } known[] = {
    { "0dbc073ba4dfed2a83936e9cd1a4ec850a4ee2c551f4ee7f79bf0d01b7554900",
      "VGG-19 conv layers, Keras/Oxford ImageNet weights in F16 (vgg19-conv.safetensors of ../shared/weights)" },
    /* huggingface.co/timm/vgg16.tv_in1k/blob/main/model.safetensors (Git LFS details) */
    { "57b026918159a6bf9faf8405c3a551903768e7138989d9c6224a14227203fad8",
      "VGG-16, torchvision ImageNet weights via timm vgg16.tv_in1k" },
    /* huggingface.co/timm/vgg19.tv_in1k/blob/main/model.safetensors (Git LFS details) */
    { "11aea017b543ff59233749d8f1cf544cda749378f5790d2fedab841fb86b7669",
      "VGG-19, torchvision ImageNet weights via timm vgg19.tv_in1k" },
};

const char *cs_weights_known(const char *sha256_hex)
{
    for (size_t i = 0; i < sizeof known / sizeof *known; i++)
        if (!strcmp(known[i].sha256, sha256_hex)) return known[i].name;
    return NULL;
}

clstyle_status cs_weights_identify(const char *path, cs_weights_id *id)
{
    memset(id, 0, sizeof *id);
    CS_TRY(cs_sha256_file(path, id->sha256));
    id->name = cs_weights_known(id->sha256);
    return CLSTYLE_OK;
}
