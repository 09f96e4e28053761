// cs_flow_compute with OpenCV's DIS optical flow (Kroeger et al. 2016), the
// meson feature `flow`. This is the only C++ in clstyle: everything crossing
// the boundary is C, and no exception leaves this file.
#include <opencv2/core.hpp>
#include <opencv2/video/tracking.hpp>

#include <cmath>
#include <exception>
#include <new>
#include <string>

extern "C" {
#include "error.h"
#include "flow.h"
}

namespace {

// Luma (Rec. 601) in 8 bits: DIS works on one 8-bit channel.
cv::Mat grey8(const cs_image *img)
{
    cv::Mat g(img->h, img->w, CV_8UC1);
    size_t hw = (size_t)img->w * img->h;
    const float *r = img->p, *gr = img->p + hw, *b = img->p + 2 * hw;
    for (int y = 0; y < img->h; y++) {
        unsigned char *row = g.ptr<unsigned char>(y);
        for (int x = 0; x < img->w; x++) {
            size_t i = (size_t)y * img->w + x;
            float l = 0.299f * r[i] + 0.587f * gr[i] + 0.114f * b[i];
            row[x] = (unsigned char)std::lround(255.0f * cs_image_clamp01(l));
        }
    }
    return g;
}

// OpenCV's messages span lines and name its source files; keep the gist on one line.
std::string one_line(std::string s)
{
    for (char &c : s)
        if (c == '\n' || c == '\r') c = ' ';
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s;
}

clstyle_status compute(const cs_image *a, const cs_image *b, int quality, cs_flow *out)
{
    static const int presets[] = { cv::DISOpticalFlow::PRESET_ULTRAFAST, cv::DISOpticalFlow::PRESET_FAST,
                                   cv::DISOpticalFlow::PRESET_MEDIUM };
    // The presets keep spatial propagation on (OpenCV's default), which
    // carries good patches into textureless neighbours.
    cv::Ptr<cv::DISOpticalFlow> dis = cv::DISOpticalFlow::create(presets[quality]);
    cv::Mat flow;
    dis->calc(grey8(a), grey8(b), flow);
    if (flow.type() != CV_32FC2 || flow.rows != a->h || flow.cols != a->w)
        return cs_fail(CLSTYLE_ERR_FORMAT, "optical flow: OpenCV returned a %dx%d field of type %d for %dx%d frames",
                       flow.cols, flow.rows, flow.type(), a->w, a->h);
    CS_TRY(cs_flow_alloc(a->w, a->h, out));
    for (int y = 0; y < a->h; y++) {
        const cv::Vec2f *row = flow.ptr<cv::Vec2f>(y);
        for (int x = 0; x < a->w; x++) {
            out->u[(size_t)y * a->w + x] = row[x][0];
            out->v[(size_t)y * a->w + x] = row[x][1];
        }
    }
    return CLSTYLE_OK;
}

} // namespace

extern "C" int cs_flow_available(void) { return 1; }

extern "C" clstyle_status cs_flow_compute(const cs_image *a, const cs_image *b, int quality, cs_flow *out)
{
    if (a->w != b->w || a->h != b->h)
        return cs_fail(CLSTYLE_ERR_USAGE, "optical flow between frames of different sizes: %dx%d and %dx%d", a->w, a->h,
                       b->w, b->h);
    if (quality < 0 || quality > 2)
        return cs_fail(CLSTYLE_ERR_USAGE, "optical flow quality %d is not 0, 1 or 2", quality);
    // OpenCV 4.6 refuses some frames under 12 pixels with a misleading
    // message ("width or height >= 12"); a clip that small is no use anyway.
    if (a->w < 12 || a->h < 12)
        return cs_fail(CLSTYLE_ERR_USAGE, "optical flow needs frames of at least 12x12 pixels, not %dx%d", a->w, a->h);
    try {
        return compute(a, b, quality, out);
    } catch (const cv::Exception &e) {
        // Mostly frames DIS cannot handle (its assertions), rarely memory.
        return cs_fail(e.code == cv::Error::StsNoMem ? CLSTYLE_ERR_NOMEM : CLSTYLE_ERR_FORMAT, "optical flow (OpenCV DIS) failed on %dx%d frames: %s in %s", a->w, a->h,
                       one_line(e.err).c_str(), e.func.c_str());
    } catch (const std::bad_alloc &) {
        return cs_fail(CLSTYLE_ERR_NOMEM, "out of memory computing the optical flow of %dx%d frames", a->w, a->h);
    } catch (const std::exception &e) {
        return cs_fail(CLSTYLE_ERR_FORMAT, "optical flow failed: %s", one_line(e.what()).c_str());
    } catch (...) {
        return cs_fail(CLSTYLE_ERR_FORMAT, "optical flow failed with an unknown C++ exception");
    }
}
