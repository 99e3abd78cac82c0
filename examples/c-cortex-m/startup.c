/* The smallest startup a Cortex-M4F C program needs, and Arm semihosting for its output:
 * no C library. reset_handler copies .data, zeroes .bss, turns the FPU on (vae-ffi is
 * built for the hard-float ABI), runs main() and reports its status to QEMU (or a
 * debugger) with SYS_EXIT. stack_paint() and stack_used() measure the stack. */
#include <stddef.h>
#include <stdint.h>

#include "semihosting.h"

extern uint32_t data_start[], data_end[], data_load[], bss_start[], bss_end[];
extern uint32_t stack_limit[], stack_top[];
int main(void);

#define PAINT 0x5AA55AA5u

/* Paints the stack from its bottom up to a little below the caller's stack pointer;
 * stack_used() then tells how deep the stack went since. */
__attribute__((noinline)) void stack_paint(void) {
    uint32_t *sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (uint32_t *p = stack_limit; p < sp - 16; p++) *p = PAINT;
}

size_t stack_used(void) {
    const uint32_t *p = stack_limit;
    while (p < stack_top && *p == PAINT) p++;
    return (size_t)((const uint8_t *)stack_top - (const uint8_t *)p);
}

__attribute__((noreturn)) void reset_handler(void) {
    for (uint32_t *src = data_load, *dst = data_start; dst < data_end;) *dst++ = *src++;
    for (uint32_t *dst = bss_start; dst < bss_end;) *dst++ = 0;
    /* CPACR: full access to the coprocessors CP10 and CP11 (the FPU). */
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    sh_exit(main() == 0);
}

/* Any fault or unexpected interrupt: report a failure. */
static void fault_handler(void) { sh_exit(0); }

/* The vector table: initial stack pointer, reset, and the 14 other system exceptions. */
__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))stack_top, reset_handler, fault_handler, fault_handler, fault_handler,
    fault_handler, fault_handler, 0, 0, 0, 0, fault_handler, fault_handler, 0, fault_handler,
    fault_handler,
};
