/* JPEG through libjpeg(-turbo). libjpeg reports errors by calling a handler
 * that must not return, so the handler longjmps back to the decoder; its
 * warnings ("premature end of data", corrupt entropy data) are errors here
 * too, since it would otherwise fill the damaged part with grey. */
#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h> /* after stdio.h: it uses FILE and size_t without including them */

#include "error.h"
#include "exif.h"
#include "image_codec.h"

/* A progressive JPEG may have any number of scans, each a pass over the
 * whole image; real encoders write about 10, a hostile file thousands. */
enum { MAX_SCANS = 200 };

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
} error_mgr;

static void on_error(j_common_ptr c)
{
    error_mgr *e = (error_mgr *)c->err;
    c->err->format_message(c, e->msg);
    longjmp(e->jump, 1);
}

static void on_message(j_common_ptr c, int level)
{
    if (level < 0) on_error(c); /* a warning; trace messages (level >= 0) are ignored */
}

static void on_progress(j_common_ptr c)
{
    j_decompress_ptr d = (j_decompress_ptr)c;
    if (!c->is_decompressor || d->input_scan_number <= MAX_SCANS) return;
    error_mgr *e = (error_mgr *)c->err;
    snprintf(e->msg, sizeof e->msg, "more than %d progressive scans", MAX_SCANS);
    longjmp(e->jump, 1);
}

static void init_errors(j_common_ptr c, error_mgr *e)
{
    c->err = jpeg_std_error(&e->pub);
    e->pub.error_exit = on_error;
    e->pub.emit_message = on_message;
    e->msg[0] = 0;
}

/* The orientation in the first APP1 "Exif" segment, 1 when there is none. */
static clstyle_status jpeg_orientation(j_decompress_ptr d, const char *name, int *orientation)
{
    *orientation = 1;
    for (jpeg_saved_marker_ptr m = d->marker_list; m; m = m->next)
        if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 && !memcmp(m->data, "Exif\0\0", 6))
            return cs_exif_orientation(m->data + 6, m->data_length - 6, name, orientation);
    return CLSTYLE_OK;
}

/* One decoded row (RGB, or Adobe-style CMYK) into the planar image. */
static void store_row(const JSAMPLE *row, j_decompress_ptr d, int y, cs_image *img)
{
    size_t hw = (size_t)img->w * img->h, at = (size_t)y * img->w;
    for (int x = 0; x < img->w; x++) {
        const JSAMPLE *p = row + (size_t)x * d->output_components;
        for (int c = 0; c < 3; c++) {
            float v = p[c] / 255.0f;
            if (d->output_components == 4) {
                /* Photoshop (Adobe marker) stores CMYK inverted: the sample is 1 - ink. */
                float k = p[3] / 255.0f;
                v = d->saw_Adobe_marker ? v * k : (1 - v) * (1 - k);
            }
            img->p[c * hw + at + x] = v;
        }
    }
}

clstyle_status cs_jpeg_decode(const unsigned char *data, size_t n, const char *name, double max_megapixels,
                              cs_image *img, int *orientation)
{
    struct jpeg_decompress_struct d;
    struct jpeg_progress_mgr progress = { .progress_monitor = on_progress };
    error_mgr e;
    JSAMPLE *volatile row = NULL;
    volatile clstyle_status st = CLSTYLE_OK;
    memset(&d, 0, sizeof d);
    img->p = NULL;
    init_errors((j_common_ptr)&d, &e);
    if (setjmp(e.jump)) {
        st = cs_fail(CLSTYLE_ERR_FORMAT, "%s: corrupt or truncated JPEG (%s)", name, e.msg);
        goto done;
    }
    jpeg_create_decompress(&d);
    d.progress = &progress;
    jpeg_mem_src(&d, data, (unsigned long)n);
    jpeg_save_markers(&d, JPEG_APP0 + 1, 0xffff);
    jpeg_read_header(&d, TRUE);
    if ((st = cs_image_check_size(name, d.image_width, d.image_height, max_megapixels)) != CLSTYLE_OK) goto done;
    if ((st = jpeg_orientation(&d, name, orientation)) != CLSTYLE_OK) goto done;
    /* libjpeg converts YCbCr and grey to RGB; YCCK only as far as CMYK. */
    int cmyk = d.jpeg_color_space == JCS_CMYK || d.jpeg_color_space == JCS_YCCK;
    d.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_start_decompress(&d);
    if ((st = cs_image_alloc((int)d.output_width, (int)d.output_height, img)) != CLSTYLE_OK) goto done;
    row = malloc((size_t)d.output_width * d.output_components);
    if (!row) {
        st = cs_fail(CLSTYLE_ERR_NOMEM, "%s: out of memory", name);
        goto done;
    }
    while (d.output_scanline < d.output_height) {
        JSAMPROW rows[1] = { row };
        int y = (int)d.output_scanline;
        jpeg_read_scanlines(&d, rows, 1);
        store_row(row, &d, y, img);
    }
    jpeg_finish_decompress(&d);
done:
    jpeg_destroy_decompress(&d);
    free(row);
    if (st != CLSTYLE_OK) cs_image_free(img);
    return st;
}

clstyle_status cs_jpeg_write(FILE *fp, const char *name, const cs_image *img, int quality)
{
    struct jpeg_compress_struct c;
    error_mgr e;
    JSAMPLE *volatile row = NULL;
    volatile clstyle_status st = CLSTYLE_OK;
    memset(&c, 0, sizeof c);
    init_errors((j_common_ptr)&c, &e);
    if (setjmp(e.jump)) {
        st = cs_fail(CLSTYLE_ERR_IO, "%s: cannot write JPEG (%s)", name, e.msg);
        goto done;
    }
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, fp);
    c.image_width = (JDIMENSION)img->w;
    c.image_height = (JDIMENSION)img->h;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, quality, TRUE);
    if (quality >= 90) /* full-resolution chroma: subsampling smears the fine coloured strokes styles make */
        c.comp_info[0].h_samp_factor = c.comp_info[0].v_samp_factor = 1;
    row = malloc((size_t)img->w * 3);
    if (!row) {
        st = cs_fail(CLSTYLE_ERR_NOMEM, "%s: out of memory", name);
        goto done;
    }
    jpeg_start_compress(&c, TRUE);
    size_t hw = (size_t)img->w * img->h;
    while (c.next_scanline < c.image_height) {
        size_t at = (size_t)c.next_scanline * img->w;
        for (int x = 0; x < img->w; x++)
            for (int ch = 0; ch < 3; ch++) row[x * 3 + ch] = (JSAMPLE)lrintf(cs_image_clamp01(img->p[ch * hw + at + x]) * 255);
        JSAMPROW rows[1] = { row };
        jpeg_write_scanlines(&c, rows, 1);
    }
    jpeg_finish_compress(&c);
done:
    jpeg_destroy_compress(&c);
    free(row);
    return st;
}
