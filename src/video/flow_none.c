/* cs_flow_compute when clstyle is built without OpenCV (meson -Dflow=disabled,
 * or libopencv-video-dev missing): the rest of flow.h (flow.c) still works. */
#include "error.h"
#include "flow.h"

int cs_flow_available(void) { return 0; }

clstyle_status cs_flow_compute(const cs_image *a, const cs_image *b, int quality, cs_flow *out)
{
    (void)a, (void)b, (void)quality, (void)out;
    return cs_fail(CLSTYLE_ERR_USAGE, "optical flow needs OpenCV: this clstyle was built without the meson feature "
                   "`flow` (install libopencv-video-dev and rebuild)");
}
