/* The C API from C: the header's sizes, and an error code (never a crash) for every bad
 * input a C caller can make. vae-ffi's Rust tests (vae-ffi/src/tests.rs) cover the same
 * cases in more detail; this checks that they look the same through the C header.
 *
 *   ./vae-test decoder.bin
 */
#include <math.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vae.h"

static int failures, checks;

#define EXPECT(call, code)                                                                 \
    do {                                                                                   \
        vae_error got_ = (call);                                                           \
        checks++;                                                                          \
        if (got_ != (code)) {                                                              \
            failures++;                                                                    \
            printf("FAIL line %d: %s gave %d (%s), expected %s\n", __LINE__, #call,         \
                   (int)got_, vae_error_message(got_), #code);                              \
        }                                                                                  \
    } while (0)

_Static_assert(sizeof(vae_decoder) == VAE_DECODER_SIZE, "decoder size");
_Static_assert(alignof(vae_decoder) == 8, "decoder alignment");
_Static_assert(VAE_IMAGE_PIXELS == VAE_IMAGE_SIDE * VAE_IMAGE_SIDE, "image size");

int main(int argc, char **argv) {
    static uint8_t blob[400000], bad[400000];
    static uint8_t scratch[4096], image[VAE_IMAGE_PIXELS];
    static vae_decoder dec, closed; /* zero-initialised: not open */
    FILE *f = fopen(argc > 1 ? argv[1] : "../models/decoder.bin", "rb");
    size_t len = f ? fread(blob, 1, sizeof blob, f) : 0;
    if (f) fclose(f);
    if (len == 0 || len == sizeof blob) {
        printf("cannot read the blob\n");
        return 1;
    }
    vae_request req = {.seed = 1};
    vae_shape shape;
    size_t n = 0;

    /* Opening: NULL, short, corrupt. */
    EXPECT(vae_open(NULL, blob, len), VAE_ERROR_NULL_POINTER);
    EXPECT(vae_open(&dec, NULL, len), VAE_ERROR_NULL_POINTER);
    EXPECT(vae_open(&dec, blob, 0), VAE_ERROR_TRUNCATED);
    EXPECT(vae_open(&dec, blob, 11), VAE_ERROR_TRUNCATED);
    EXPECT(vae_open(&dec, blob, len - 1), VAE_ERROR_TRUNCATED);
    memcpy(bad, blob, len);
    bad[0] = 'X';
    EXPECT(vae_open(&dec, bad, len), VAE_ERROR_BAD_MAGIC);
    memcpy(bad, blob, len);
    bad[4] = 9;
    EXPECT(vae_open(&dec, bad, len), VAE_ERROR_UNSUPPORTED_VERSION);
    memcpy(bad, blob, len);
    bad[len / 2] ^= 1;
    EXPECT(vae_open(&dec, bad, len), VAE_ERROR_CRC_MISMATCH);
    /* A failed open leaves the decoder closed. */
    EXPECT(vae_generate(&dec, &req, scratch, sizeof scratch, image, sizeof image), VAE_ERROR_NOT_OPEN);
    EXPECT(vae_decoder_shape(&closed, &shape), VAE_ERROR_NOT_OPEN);

    EXPECT(vae_open(&dec, blob, len), VAE_OK);
    EXPECT(vae_decoder_shape(&dec, &shape), VAE_OK);
    n = shape.scratch_bytes;
    EXPECT(vae_blob_shape(blob, len, NULL), VAE_ERROR_NULL_POINTER);
    EXPECT(vae_decoder_metadata(&dec, NULL), VAE_ERROR_NULL_POINTER);

    /* Generating: NULL, sizes, digits, temperatures. */
    EXPECT(vae_generate(NULL, &req, scratch, n, image, sizeof image), VAE_ERROR_NULL_POINTER);
    EXPECT(vae_generate(&dec, NULL, scratch, n, image, sizeof image), VAE_ERROR_NULL_POINTER);
    EXPECT(vae_generate(&dec, &req, NULL, n, image, sizeof image), VAE_ERROR_NULL_POINTER);
    EXPECT(vae_generate(&dec, &req, scratch, n, NULL, sizeof image), VAE_ERROR_NULL_POINTER);
    EXPECT(vae_generate(&dec, &req, scratch, n - 1, image, sizeof image), VAE_ERROR_SCRATCH_TOO_SMALL);
    EXPECT(vae_generate(&dec, &req, scratch, n, image, sizeof image - 1), VAE_ERROR_IMAGE_TOO_SMALL);
    EXPECT(vae_generate(&dec, &req, scratch, n, scratch + 10, sizeof image), VAE_ERROR_BAD_POINTER);
    EXPECT(vae_generate(&dec, &req, scratch, n, blob + 100, sizeof image), VAE_ERROR_BAD_POINTER);
    vae_request seven = {.seed = 1, .has_digit = 1, .digit = 7};
    EXPECT(vae_generate(&dec, &seven, scratch, n, image, sizeof image), shape.classes ? VAE_OK : VAE_ERROR_NOT_CONDITIONAL);
    if (shape.classes == 0) EXPECT(vae_decode(&dec, (float[64]){0}, shape.latent, 3, scratch, n, image, sizeof image), VAE_ERROR_NOT_CONDITIONAL);
    vae_request big = {.seed = 1, .has_digit = 1, .digit = 300};
    EXPECT(vae_generate(&dec, &big, scratch, n, image, sizeof image), shape.classes ? VAE_ERROR_INVALID_DIGIT : VAE_ERROR_NOT_CONDITIONAL);
    float temperatures[] = {NAN, INFINITY, -INFINITY, -0.5f};
    for (int i = 0; i < 4; i++) {
        vae_request t = {.seed = 1, .has_temperature = 1, .temperature = temperatures[i]};
        EXPECT(vae_generate(&dec, &t, scratch, n, image, sizeof image), VAE_ERROR_INVALID_TEMPERATURE);
    }
    vae_request zero = {.seed = 1, .has_temperature = 1, .temperature = 0.0f};
    EXPECT(vae_generate(&dec, &zero, scratch, n, image, sizeof image), VAE_OK);
    EXPECT(vae_generate(&dec, &req, scratch, n, image, sizeof image), VAE_OK);

    /* Decoding a latent: length, non-finite values; prior latent + decode = generate. */
    float z[64];
    uint8_t again[VAE_IMAGE_PIXELS];
    if (shape.latent <= 64) {
        EXPECT(vae_prior_latent(&dec, &req, z, shape.latent), VAE_OK);
        EXPECT(vae_decode(&dec, z, shape.latent, VAE_NO_DIGIT, scratch, n, again, sizeof again), VAE_OK);
        checks++;
        if (memcmp(image, again, sizeof image) != 0) {
            failures++;
            printf("FAIL: vae_decode(vae_prior_latent(req)) differs from vae_generate(req)\n");
        }
        EXPECT(vae_decode(&dec, z, shape.latent - 1, VAE_NO_DIGIT, scratch, n, image, sizeof image), VAE_ERROR_LATENT_LENGTH);
        EXPECT(vae_decode(&dec, NULL, shape.latent, VAE_NO_DIGIT, scratch, n, image, sizeof image), VAE_ERROR_NULL_POINTER);
        z[1] = NAN;
        EXPECT(vae_decode(&dec, z, shape.latent, VAE_NO_DIGIT, scratch, n, image, sizeof image), VAE_ERROR_NON_FINITE_LATENT);
        z[1] = INFINITY;
        EXPECT(vae_decode(&dec, z, shape.latent, VAE_NO_DIGIT, scratch, n, image, sizeof image), VAE_ERROR_NON_FINITE_LATENT);
    }

    /* Every code has a message, unknown codes too. */
    for (int code = -1; code <= VAE_ERROR_OTHER + 1; code++) {
        checks++;
        if (vae_error_message(code) == NULL || vae_error_message(code)[0] == '\0') failures++;
    }
    printf("C API tests: %d of %d checks passed\n", checks - failures, checks);
    return failures != 0;
}
