/* vae-core from C on a Cortex-M4F (QEMU mps2-an386): the same eight digits as the Rust
 * firmware, their CRC-32s over semihosting (compare with examples/models/golden.txt),
 * each drawn as ASCII art. No C library: startup.c and semihosting.h. */
#include <stddef.h>
#include <stdint.h>

#include "semihosting.h"
#include "vae.h"

extern const uint8_t blob[], blob_end[]; /* blob.S: decoder.bin in flash */
void stack_paint(void);                  /* startup.c: stack measurement */
size_t stack_used(void);

/* The widest blob this firmware takes: scratch_bytes is 5 * latent + 2 * hidden + 3. */
#define SCRATCH_BYTES 1024

static vae_decoder dec;
static uint8_t scratch[SCRATCH_BYTES];
static uint8_t image[VAE_IMAGE_PIXELS];
static uintptr_t out;

static void print(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    sh_write(out, s, n);
}

/* "seed N: crc32 xxxxxxxx\n" and friends, without printf. */
static char *append(char *p, const char *s) {
    while (*s) *p++ = *s++;
    return p;
}

static char *decimal(char *p, uint32_t v) {
    char digits[10];
    int n = 0;
    do digits[n++] = (char)('0' + v % 10); while ((v /= 10) != 0);
    while (n) *p++ = digits[--n];
    return p;
}

static char *hex8(char *p, uint32_t v) {
    for (int shift = 28; shift >= 0; shift -= 4) *p++ = "0123456789abcdef"[(v >> shift) & 0xF];
    return p;
}

static int fail(const char *what, vae_error e) {
    print("error: ");
    print(what);
    print(": ");
    print(vae_error_message(e));
    print("\n");
    return 1;
}

int main(void) {
    static const char ramp[] = " .:-=+*#%@";
    out = sh_stdout();
    print("vae-core C firmware on MPS2-AN386 (Cortex-M4F)\n");
    stack_paint();
    vae_error e = vae_open(&dec, blob, (size_t)(blob_end - blob));
    if (e != VAE_OK) return fail("cannot open the decoder blob", e);
    size_t open_stack = stack_used();
    stack_paint();
    vae_shape shape;
    vae_decoder_shape(&dec, &shape);
    for (uint32_t seed = 0; seed < 8; seed++) {
        vae_request req = {.seed = seed, .has_digit = shape.classes > 0, .digit = seed % 10};
        e = vae_generate(&dec, &req, scratch, sizeof scratch, image, sizeof image);
        if (e != VAE_OK) return fail("decode failed", e);
        char line[48], *p = append(line, "seed ");
        p = decimal(p, seed);
        p = append(p, ": crc32 ");
        p = hex8(p, vae_crc32(image, sizeof image));
        *p++ = '\n';
        sh_write(out, line, (size_t)(p - line));
        char art[VAE_IMAGE_SIDE + 1];
        for (int y = 0; y < VAE_IMAGE_SIDE; y++) {
            for (int x = 0; x < VAE_IMAGE_SIDE; x++)
                art[x] = ramp[image[y * VAE_IMAGE_SIDE + x] * 10 / 256];
            art[VAE_IMAGE_SIDE] = '\n';
            sh_write(out, art, sizeof art);
        }
    }
    /* The stack of the whole program at each step (main's frame included). */
    size_t decode_stack = stack_used();
    char line[120], *p = append(line, "stack: vae_open ");
    p = decimal(p, (uint32_t)open_stack);
    p = append(p, " bytes, vae_generate ");
    p = decimal(p, (uint32_t)decode_stack);
    p = append(p, " bytes (VAE_OPEN_STACK_BYTES ");
    p = decimal(p, VAE_OPEN_STACK_BYTES);
    p = append(p, ", VAE_DECODE_STACK_BYTES ");
    p = decimal(p, VAE_DECODE_STACK_BYTES);
    p = append(p, ")\n");
    sh_write(out, line, (size_t)(p - line));
    if (open_stack > VAE_OPEN_STACK_BYTES || decode_stack > VAE_DECODE_STACK_BYTES)
        return fail("more stack than vae.h says", VAE_ERROR_OTHER);
    return 0;
}
