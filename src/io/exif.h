/* The one EXIF field clstyle needs: the orientation (tag 0x0112 in IFD0).
 * EXIF comes from untrusted files, so every offset is checked against the
 * block's length before it is read. */
#ifndef CS_EXIF_H
#define CS_EXIF_H
#include <stddef.h>
#include "clstyle.h"

/* tiff: the TIFF structure of an EXIF block ("II*\0" or "MM\0*" first; for a
 * JPEG APP1 segment, the bytes after "Exif\0\0"; a PNG eXIf chunk's data).
 * *orientation: 1 to 8, 1 when the block has no orientation (or the invalid
 * 0 that some software writes). A block whose structure lies (offsets past its
 * end, wrong byte order, orientation > 8 or of the wrong type) is an error
 * naming `name`: a photo must not be shown rotated by guesswork. */
clstyle_status cs_exif_orientation(const unsigned char *tiff, size_t n, const char *name, int *orientation);

#endif
