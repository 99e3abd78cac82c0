/* Draws eight digits with vae-core's C API: prints their CRC-32s (compare with
 * examples/models/golden.txt) and writes them side by side as a PGM image.
 *
 *   ./vae-demo [decoder.bin] [digits.pgm]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "vae.h"

/* The whole file in memory; NULL on failure. */
static uint8_t *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    uint8_t *data = NULL;
    long size;
    if (f == NULL) return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (data = malloc((size_t)size)) != NULL && fread(data, 1, (size_t)size, f) == (size_t)size) {
        *len = (size_t)size;
    } else {
        free(data);
        data = NULL;
    }
    fclose(f);
    return data;
}

int main(int argc, char **argv) {
    const char *blob_path = argc > 1 ? argv[1] : "../models/decoder.bin";
    const char *pgm_path = argc > 2 ? argv[2] : "digits.pgm";
    enum { COUNT = 8 };
    static vae_decoder dec; /* VAE_DECODER_SIZE bytes, no allocation inside */
    static uint8_t images[COUNT][VAE_IMAGE_PIXELS];
    size_t blob_len = 0;
    uint8_t *blob = read_file(blob_path, &blob_len); /* must outlive dec */
    if (blob == NULL) {
        fprintf(stderr, "cannot read %s\n", blob_path);
        return 1;
    }

    vae_error e = vae_open(&dec, blob, blob_len); /* every check of the blob, once */
    vae_shape shape;
    if (e == VAE_OK) e = vae_decoder_shape(&dec, &shape);
    uint8_t *scratch = e == VAE_OK ? malloc(shape.scratch_bytes) : NULL;
    for (unsigned i = 0; e == VAE_OK && i < COUNT; i++) {
        vae_request req = {.seed = i};
        if (shape.classes > 0) { /* a conditional blob: ask for digit i */
            req.has_digit = 1;
            req.digit = i % 10;
        }
        e = vae_generate(&dec, &req, scratch, shape.scratch_bytes, images[i], VAE_IMAGE_PIXELS);
        if (e == VAE_OK)
            printf("seed %u: crc32 %08" PRIx32 "\n", i, vae_crc32(images[i], VAE_IMAGE_PIXELS));
    }
    if (e != VAE_OK) {
        fprintf(stderr, "%s: %s\n", blob_path, vae_error_message(e));
        return 1;
    }

    FILE *pgm = fopen(pgm_path, "wb"); /* COUNT digits in a row, 8-bit grey */
    int ok = pgm != NULL && fprintf(pgm, "P5\n%d %d\n255\n", COUNT * VAE_IMAGE_SIDE, VAE_IMAGE_SIDE) > 0;
    for (int y = 0; ok && y < VAE_IMAGE_SIDE; y++)
        for (int i = 0; ok && i < COUNT; i++)
            ok = fwrite(&images[i][y * VAE_IMAGE_SIDE], 1, VAE_IMAGE_SIDE, pgm) == VAE_IMAGE_SIDE;
    if (pgm == NULL || fclose(pgm) != 0 || !ok) {
        fprintf(stderr, "cannot write %s\n", pgm_path);
        return 1;
    }
    fprintf(stderr, "wrote %s\n", pgm_path);
    free(scratch);
    free(blob);
    return 0;
}
