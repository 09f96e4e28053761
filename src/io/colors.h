/* Colour control (Gatys et al. 2017, "Controlling Perceptual Factors in
 * Neural Style Transfer", section 5): luminance-only transfer and the
 * linear colour transfer that matches a style image's colours to the
 * content's. Host-side, on planar RGB images in [0,1]. */
#ifndef CS_COLORS_H
#define CS_COLORS_H
#include "image.h"

/* The luminance Y = 0.299 R + 0.587 G + 0.114 B (YIQ's, as
 * cs_image_transfer_colors uses) in all three channels. */
void cs_colors_luminance(cs_image *im);
/* After cs_colors_luminance on both: the style's luminance shifted and
 * scaled to the content's mean and standard deviation (the paper's
 * luminance matching, so the two are on one scale). */
void cs_colors_match_luminance(cs_image *style, const cs_image *content);
/* The style's pixels x mapped to A (x - mean_s) + mean_c with
 * A = Cov_c^(1/2) Cov_s^(-1/2) (symmetric square roots, by eigen
 * decomposition), so their mean and covariance become the content's;
 * clamped to [0,1]. */
void cs_colors_match_histogram(cs_image *style, const cs_image *content);

#endif
