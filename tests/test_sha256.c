/* Unit tests: SHA-256 against the FIPS 180-4 / NIST example vectors, fed in
 * every split, and the weights recognized by their digest. */
#include "sha256.h"
#include "testutil.h"
#include "weights_id.h"

static void digest(const char *msg, size_t n, size_t chunk, char hex[65])
{
    cs_sha256 s;
    cs_sha256_init(&s);
    for (size_t at = 0; at < n; at += chunk) cs_sha256_update(&s, msg + at, n - at < chunk ? n - at : chunk);
    cs_sha256_hex(&s, hex);
}

int main(void)
{
    static const struct { const char *msg, *want; } v[] = {
        { "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
        { "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
        { "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
        { "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
          "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
    };
    char hex[65];
    for (size_t i = 0; i < sizeof v / sizeof *v; i++)
        for (size_t chunk = 1; chunk <= 130; chunk += 1) {
            digest(v[i].msg, strlen(v[i].msg), chunk, hex);
            CHECK(!strcmp(hex, v[i].want), "vector %zu in chunks of %zu: %s", i, chunk, hex);
        }
    /* One million 'a' (crosses many blocks; lengths past 2^16 bits). */
    static char million[1000000];
    memset(million, 'a', sizeof million);
    digest(million, sizeof million, 4093, hex);
    CHECK(!strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"), "a x 10^6: %s", hex);
    /* Lengths around the padding boundary (55, 56, 63, 64 bytes) differ from each other. */
    char prev[65] = "";
    for (size_t n = 54; n <= 66; n++) {
        digest(million, n, n, hex);
        CHECK(strcmp(hex, prev), "length %zu", n);
        strcpy(prev, hex);
    }
    CHECK(cs_sha256_file("/nonexistent/weights", hex) == CLSTYLE_ERR_IO, "missing file");

    const char *name = cs_weights_known("0dbc073ba4dfed2a83936e9cd1a4ec850a4ee2c551f4ee7f79bf0d01b7554900");
    CHECK(name && strstr(name, "VGG-19"), "the shared VGG-19 file: %s", name ? name : "(unknown)");
    CHECK(cs_weights_known("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == NULL, "empty file");
    return tu_done("sha256");
}
