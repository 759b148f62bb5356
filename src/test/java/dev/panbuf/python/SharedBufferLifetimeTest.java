package dev.panbuf.python;

import dev.panbuf.LeakCheck;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Python code cannot release what NumPy still holds: the shared object
 * releases its export in its deallocator, which runs only once the last
 * reference (each Py_buffer's included) is gone and which no Python
 * attribute reaches. Once a finalizer exposed as {@code __del__} let
 * {@code a.base.obj.__del__()} release the export under NumPy's feet; the
 * arena then closed and NumPy read freed memory. The attack runs in a child
 * JVM ({@link SharedBufferAttack}), so a crash is a finding, not a dead run.
 */
@ExtendWith(LeakCheck.class)
class SharedBufferLifetimeTest {

    @BeforeAll
    static void needsPython() {
        TestPython.require();
    }

    @Test
    void noPythonTrickReleasesMemoryThatNumpyStillHolds() throws Exception {
        ChildJvm.Result r = ChildJvm.run(SharedBufferAttack.class, List.of());
        assertEquals(0, r.exitCode(), "the attack failed:\n" + r.stdout() + "\n" + r.stderr());
        assertEquals("ok", r.value("RESULT"));
        for (String kind : List.of("putNumpy", "putMemoryView", "putTensor")) {
            assertEquals("AttributeError: 'panbuf.SharedBuffer' object has no attribute '__del__'",
                    r.value("TRICK " + kind + " o.__del__()"));
            assertEquals("AttributeError: type object 'panbuf.SharedBuffer' has no attribute '__del__'",
                    r.value("TRICK " + kind + " type(o).__del__(o)"));
            assertEquals("TypeError: cannot create 'panbuf.SharedBuffer' instances", r.value("TRICK " + kind + " type(o)()"));
            assertTrue(r.value("TRICK " + kind + " pickle.dumps(o)").startsWith("TypeError: cannot pickle"),
                    r.value("TRICK " + kind + " pickle.dumps(o)"));
            assertTrue(r.value("TRICK " + kind + " setattr(type(o), '__del__', lambda self: None)").startsWith("TypeError:"),
                    r.value("TRICK " + kind + " setattr(type(o), '__del__', lambda self: None)"));
            assertEquals("-7", r.value("READ " + kind), "NumPy still reads Java's writes");
            assertEquals("0", r.value("CLOSED " + kind), "every shared object was deallocated");
        }
        assertEquals("AttributeError: '_NumpyOwner' object has no attribute 'release'", r.value("ALONE a.base.release()"));
        assertEquals("AttributeError: 'panbuf.SharedBuffer' object has no attribute 'release'",
                r.value("ALONE a.base[1].release()"));
        assertEquals("42", r.value("ALONE READ"));
    }
}
