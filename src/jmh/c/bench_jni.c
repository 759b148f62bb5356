/*
 * bench_jni.c -- JNI peers of bench_native.c, for dev.panbuf.bench.Jni: the
 * same callees reached through JNI, so the downcall benchmarks compare FFM
 * with JNI on this machine instead of quoting a figure. Built against the
 * jni.h of the JDK that runs the benchmarks.
 */
#include <jni.h>
#include <stdint.h>

#include "panbuf.h"

JNIEXPORT void JNICALL Java_dev_panbuf_bench_Jni_noop(JNIEnv *env, jclass cls)
{
    (void)env;
    (void)cls;
}

/* Reads element [0, ..., 0] of an exported view given the pb_buffer's address. */
JNIEXPORT jfloat JNICALL Java_dev_panbuf_bench_Jni_pbFirstF32(JNIEnv *env, jclass cls, jlong view)
{
    (void)env;
    (void)cls;
    const pb_buffer *pb = (const pb_buffer *)(intptr_t)view;
    return *(const float *)pb->buf;
}

/* Reads the first float of a heap array pinned with GetPrimitiveArrayCritical:
   JNI's way to let C see a Java array without copying. */
JNIEXPORT jfloat JNICALL Java_dev_panbuf_bench_Jni_firstF32Critical(JNIEnv *env, jclass cls, jfloatArray array)
{
    (void)cls;
    float *data = (*env)->GetPrimitiveArrayCritical(env, array, NULL);
    float first = data[0];
    (*env)->ReleasePrimitiveArrayCritical(env, array, data, JNI_ABORT);
    return first;
}
