/* A C program that writes a super-chunk with btune-rs as c-blosc2's tuner
 * (tuner_id = BLOSC_BTUNE, configured with a btune_config), reads it back,
 * and prints the codec format of each chunk.
 *
 * Build against a shared c-blosc2 (scripts/setup.sh builds one in
 * target/c-blosc2) and run with the plugin where dlopen finds it:
 *
 *   cc examples/blosc2_btune.c -Itarget/c-blosc2/include -Iblosc2-plugin/include \
 *      -Ltarget/c-blosc2/lib -lblosc2 -o target/blosc2_btune_example
 *   LD_LIBRARY_PATH=target/c-blosc2/lib:target/release BTUNE_TRACE=1 target/blosc2_btune_example
 *
 * (Or install the blosc2_btune Python package: c-blosc2 then finds the
 * plugin through `python -c "import blosc2_btune; ..."`.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include <blosc2.h>
#include <blosc2/tuners-registry.h> /* BLOSC_BTUNE */
#include "blosc2_btune.h"

#define NCHUNKS 12
#define CHUNK_ITEMS (256 * 1024) /* 2 MiB of doubles */

int main(void) {
  blosc2_init();

  btune_config cfg = BTUNE_CONFIG_DEFAULTS;
  cfg.tradeoff = 0.75f;
  cfg.perf_mode = BTUNE_COMP;

  blosc2_cparams cparams = BLOSC2_CPARAMS_DEFAULTS;
  cparams.typesize = sizeof(double);
  cparams.nthreads = 2;
  cparams.tuner_id = BLOSC_BTUNE;
  cparams.tuner_params = &cfg;
  blosc2_dparams dparams = BLOSC2_DPARAMS_DEFAULTS;
  dparams.nthreads = 2;
  blosc2_storage storage = {.contiguous = true, .cparams = &cparams, .dparams = &dparams};

  blosc2_schunk *schunk = blosc2_schunk_new(&storage);
  if (schunk == NULL) {
    fprintf(stderr, "cannot create the super-chunk (is libblosc2_btune.so found?)\n");
    return 1;
  }

  double *data = malloc(CHUNK_ITEMS * sizeof(double));
  double *back = malloc(CHUNK_ITEMS * sizeof(double));
  for (int c = 0; c < NCHUNKS; c++) {
    for (int i = 0; i < CHUNK_ITEMS; i++) {
      /* Smooth data first, then a noisy part: the tuner adapts. */
      double x = (double)(c * CHUNK_ITEMS + i);
      data[i] = c < NCHUNKS / 2 ? sin(x * 1e-5) * 100.0 : sin(x) * 1e6 + x;
    }
    if (blosc2_schunk_append_buffer(schunk, data, CHUNK_ITEMS * sizeof(double)) < 0) {
      fprintf(stderr, "append failed at chunk %d\n", c);
      return 1;
    }
  }

  for (int c = 0; c < NCHUNKS; c++) {
    for (int i = 0; i < CHUNK_ITEMS; i++) {
      double x = (double)(c * CHUNK_ITEMS + i);
      data[i] = c < NCHUNKS / 2 ? sin(x * 1e-5) * 100.0 : sin(x) * 1e6 + x;
    }
    int n = blosc2_schunk_decompress_chunk(schunk, c, back, CHUNK_ITEMS * sizeof(double));
    if (n != CHUNK_ITEMS * (int)sizeof(double) || memcmp(data, back, n) != 0) {
      fprintf(stderr, "chunk %d does not read back\n", c);
      return 1;
    }
    uint8_t *chunk;
    bool needs_free;
    int cbytes = blosc2_schunk_get_chunk(schunk, c, &chunk, &needs_free);
    if (cbytes < 0) {
      return 1;
    }
    printf("chunk %d: codec format %d, %d bytes\n", c, chunk[2] >> 5, cbytes);
    if (needs_free) {
      free(chunk);
    }
  }
  printf("ratio %.2f\nok\n", (double)schunk->nbytes / (double)schunk->cbytes);

  free(data);
  free(back);
  blosc2_schunk_free(schunk);
  blosc2_destroy();
  return 0;
}
