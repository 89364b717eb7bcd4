/**
 * Bytes allocated on the JS heap while `fn` runs: the growth of the used heap
 * between garbage collections, summed (GCProfiler gives the heap before and
 * after each one, synchronously). Exact whatever the GC does: a scavenge may
 * hide garbage from a plain before/after comparison, and V8 may pretenure an
 * allocation site and skip scavenges altogether.
 */
import { GCProfiler, getHeapStatistics } from 'node:v8';

export async function measureAllocation(fn: () => unknown): Promise<{ allocated: number; gcCount: number }> {
  const profiler = new GCProfiler();
  const heapAtStart = getHeapStatistics().used_heap_size;
  profiler.start();
  await fn();
  const gcs = profiler.stop();
  const heapAtEnd = getHeapStatistics().used_heap_size;
  let allocated = 0;
  let heapAfterLastGc = heapAtStart;
  for (const gc of gcs.statistics) {
    allocated += gc.beforeGC.heapStatistics.usedHeapSize - heapAfterLastGc;
    heapAfterLastGc = gc.afterGC.heapStatistics.usedHeapSize;
  }
  allocated += heapAtEnd - heapAfterLastGc;
  return { allocated, gcCount: gcs.statistics.length };
}
