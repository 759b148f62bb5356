package dev.panbuf;

/** Memory order of an n-dimensional array's elements. */
public enum Order {
    /** Row-major: the last index varies fastest (C, NumPy's default). */
    C,
    /** Column-major: the first index varies fastest (Fortran, BLAS). */
    F
}
