/* The decoder blob in flash: BLOB is its path (the Makefile passes it). */
    .section .rodata.blob, "a"
    .balign 4
    .global blob, blob_end
blob:
    .incbin BLOB
blob_end:
