/* Unit test: the strided block copy on several threads (src/base/copy.c)
 * writes every byte of every row once, wherever the threads' shares cut a
 * row, and nothing between the rows. */
#include "copy.h"
#include "testutil.h"

/* outer x inner rows of `row` bytes from a (outer, inner + 1, row + 3)
 * array into a (outer, inner + 2, row + 5) one, on `threads` threads. */
static void strided(size_t row, size_t inner, size_t outer, int threads)
{
    size_t si = row + 3, so = si * (inner + 1), di = row + 5, dout = di * (inner + 2);
    unsigned char *src = malloc(so * outer), *dst = malloc(dout * outer);
    for (size_t i = 0; i < so * outer; i++) src[i] = (unsigned char)(i * 7 + 1);
    memset(dst, 0xEE, dout * outer);
    cs_copy_blocks(&(cs_blocks){ (char *)dst, (const char *)src, dout, di, so, si, row, inner, outer }, threads);
    size_t wrong = 0, touched = 0;
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < inner + 2; i++)
            for (size_t b = 0; b < di; b++) {
                unsigned char got = dst[o * dout + i * di + b];
                if (i < inner && b < row) wrong += got != src[o * so + i * si + b];
                else touched += got != 0xEE;
            }
    CHECK(wrong == 0 && touched == 0, "rows of %zu x %zu x %zu on %d threads: %zu bytes wrong, %zu outside written", row, inner,
          outer, threads, wrong, touched);
    free(src);
    free(dst);
}

int main(void)
{
    static const size_t shapes[][3] = { { 1, 1, 1 }, { 13, 7, 5 }, { 4096, 3, 2 }, { 3, 1000, 1 }, { 1 << 20, 1, 3 }, { 999, 17, 123 } };
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (int t = 0; t <= 5; t++) strided(shapes[s][0], shapes[s][1], shapes[s][2], t); /* 0: by size */
    return tu_done("copy");
}
