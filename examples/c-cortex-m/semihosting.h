/* Arm semihosting (the debugger or QEMU does the I/O): open the console, write, exit. */
#ifndef SEMIHOSTING_H
#define SEMIHOSTING_H

#include <stddef.h>
#include <stdint.h>

static inline uintptr_t sh_call(uintptr_t op, const void *arg) {
    register uintptr_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

/* SYS_OPEN ":tt" for writing: the host's standard output. */
static inline uintptr_t sh_stdout(void) {
    const uintptr_t args[3] = {(uintptr_t)":tt", 4 /* "w" */, 3 /* strlen(":tt") */};
    return sh_call(0x01, args);
}

/* SYS_WRITE: 0 when all bytes were written. */
static inline uintptr_t sh_write(uintptr_t handle, const void *data, size_t len) {
    const uintptr_t args[3] = {handle, (uintptr_t)data, len};
    return sh_call(0x05, args);
}

/* SYS_EXIT: QEMU exits with status 0 for ADP_Stopped_ApplicationExit, 1 otherwise. */
__attribute__((noreturn)) static inline void sh_exit(int success) {
    sh_call(0x18, (const void *)(uintptr_t)(success ? 0x20026 : 0x20023));
    for (;;) __asm__ volatile("wfi");
}

#endif
