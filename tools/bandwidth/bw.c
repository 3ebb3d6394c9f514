// Sequential-read bandwidth probe: 2 threads sum 512 MiB four times with AVX-512 loads.
// Build and run: clang -O2 -mavx512f -pthread tools/bandwidth/bw.c -o /tmp/bw && /tmp/bw
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <pthread.h>
#include <immintrin.h>
#define N (512L*1024*1024)
static char *buf;
static void* rd(void* a){ long id=(long)a; __m512i acc=_mm512_setzero_si512(); for(int r=0;r<4;r++) for(long i=id*N/2;i<(id+1)*N/2;i+=64) acc=_mm512_add_epi64(acc,_mm512_load_si512(buf+i)); long s=_mm512_reduce_add_epi64(acc); return (void*)s;}
int main(){ buf=aligned_alloc(64,N); for(long i=0;i<N;i++) buf[i]=i; struct timespec a,b; clock_gettime(CLOCK_MONOTONIC,&a); pthread_t t[2]; for(long i=0;i<2;i++) pthread_create(&t[i],0,rd,(void*)i); for(int i=0;i<2;i++) pthread_join(t[i],0); clock_gettime(CLOCK_MONOTONIC,&b); double s=(b.tv_sec-a.tv_sec)+(b.tv_nsec-a.tv_nsec)*1e-9; printf("%.1f GB/s\n", 4.0*N/s/1e9);}
