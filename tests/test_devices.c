/* Device names people type (--device pocl, rusticl, mesa, nvidia, amd, ...):
 * the tags and the pick on a made-up list of devices, with the platform and
 * vendor strings real drivers report. No OpenCL call is made. */
#include "cl_device.h"
#include "testutil.h"

static cs_cl_device fake(const char *platform, const char *vendor, const char *name, cl_device_type type)
{
    cs_cl_device d;
    memset(&d, 0, sizeof d);
    snprintf(d.platform_name, sizeof d.platform_name, "%s", platform);
    snprintf(d.vendor, sizeof d.vendor, "%s", vendor);
    snprintf(d.device_name, sizeof d.device_name, "%s", name);
    d.type = type;
    cs_cl_tag(&d);
    return d;
}

int main(void)
{
    cs_cl_device list[] = {
        fake("Portable Computing Language", "The pocl project / AuthenticAMD", "pthread-skylake-avx512-AMD EPYC", CL_DEVICE_TYPE_CPU),
        fake("rusticl", "Mesa/X.org / Mesa/X.org", "llvmpipe (LLVM 15.0.6, 256 bits)", CL_DEVICE_TYPE_CPU),
        fake("Clover", "Mesa / AMD", "AMD Radeon RX 580 (polaris10, LLVM 15.0.6)", CL_DEVICE_TYPE_GPU),
        fake("NVIDIA CUDA", "NVIDIA Corporation / NVIDIA Corporation", "NVIDIA GeForce RTX 3060", CL_DEVICE_TYPE_GPU),
        fake("Intel(R) OpenCL HD Graphics", "Intel(R) Corporation / Intel(R) Corporation", "Intel(R) UHD Graphics 620",
             CL_DEVICE_TYPE_GPU),
        fake("Oclgrind", "University of Bristol / University of Bristol", "Oclgrind Simulator", CL_DEVICE_TYPE_ACCELERATOR),
    };
    int n = (int)(sizeof list / sizeof *list);
    static const struct { const char *spec; int want; } cases[] = {
        { "pocl", 0 },    { "POCL", 0 },    { "rusticl", 1 }, { "llvmpipe", 1 },  { "mesa", 2 },   { "clover", 2 },
        { "nvidia", 3 },  { "amd", 2 },     { "intel", 4 },   { "oclgrind", 5 },  { "cpu", 0 },    { "gpu", 2 },
        { "3", 3 },       { "", 2 },        { "6", -1 },      { "-1", -1 },       { "cuda", 3 },   { "vulkan", -1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int got = cs_cl_pick(list, n, cases[i].spec);
        CHECK(got == cases[i].want, "--device '%s' picked %d, expected %d", cases[i].spec, got, cases[i].want);
    }
    CHECK(!strcmp(list[0].tags, "pocl amd"), "PoCL tags '%s'", list[0].tags);
    CHECK(!strcmp(list[1].tags, "rusticl mesa"), "rusticl tags '%s'", list[1].tags);
    CHECK(!strcmp(list[3].tags, "nvidia"), "NVIDIA tags '%s'", list[3].tags);
    /* Without a GPU the default is the first CPU; "mesa" then finds rusticl. */
    CHECK(cs_cl_pick(list, 2, NULL) == 0, "default without a GPU");
    CHECK(cs_cl_pick(list, 2, "mesa") == 1, "mesa without clover");
    return tu_done("devices");
}
