#include "copy.h"

#include <pthread.h>
#include <string.h>
#include <unistd.h>

/* Below this many bytes a thread costs more to start than it saves. */
enum { MIN_SHARE = 1 << 20, MAX_THREADS = 16 };

typedef struct {
    const cs_blocks *b;
    size_t from, to; /* bytes of the rows laid end to end */
} share;

static void *copy_share(void *arg)
{
    const share *s = arg;
    const cs_blocks *b = s->b;
    size_t k = s->from / b->row, off = s->from % b->row;
    for (size_t at = s->from; at < s->to; k++, off = 0) {
        size_t o = k / b->inner, i = k % b->inner, len = b->row - off;
        if (len > s->to - at) len = s->to - at;
        memcpy(b->dst + o * b->dst_outer + i * b->dst_inner + off, b->src + o * b->src_outer + i * b->src_inner + off, len);
        at += len;
    }
    return NULL;
}

static int threads_for(size_t bytes)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    size_t n = bytes / MIN_SHARE;
    if (cores < 1) cores = 1;
    if (n > (size_t)cores) n = (size_t)cores;
    if (n > MAX_THREADS) n = MAX_THREADS;
    return n ? (int)n : 1;
}

void cs_copy_blocks(const cs_blocks *b, int threads)
{
    size_t total = b->row * b->inner * b->outer;
    int n = threads > 0 ? (threads < MAX_THREADS ? threads : MAX_THREADS) : threads_for(total), started = 0;
    share s[MAX_THREADS];
    pthread_t t[MAX_THREADS];
    for (int j = 0; j < n; j++) s[j] = (share){ b, total / n * j, j == n - 1 ? total : total / n * (j + 1) };
    for (int j = 1; j < n; j++, started++) /* a thread that fails to start: its share is done below */
        if (pthread_create(&t[j], NULL, copy_share, &s[j])) break;
    copy_share(&s[0]);
    for (int j = started + 1; j < n; j++) copy_share(&s[j]);
    for (int j = 1; j <= started; j++) pthread_join(t[j], NULL);
}
