using System.Collections.Concurrent;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.SuperResolution.Architectures.Blocks;

/// <summary>
/// Tensor operations whose TorchSharp overloads would make a temporary <see cref="Scalar"/> inside TorchSharp, done
/// with a Scalar that lives for the process instead. TorchSharp 0.107's <c>add(Tensor)</c>, <c>add_(Tensor)</c>,
/// <c>add(Scalar)</c> and <c>add_(Scalar)</c> call the overload with <c>alpha</c> through an implicit conversion of 1,
/// and <c>nn.functional.leaky_relu(x, double)</c> and <c>nn.LeakyReLU</c> convert the slope per call: each such temporary can
/// be finalized while libtorch reads it (docs/implementation-notes.md, "TorchSharp Scalars"). Measured: each of those
/// calls left one finalizable object behind (an <c>nn.LeakyReLU</c> forward six), an RCAN Notes training step 294 of
/// them before this class. <c>ScalarLifetimeTests</c> keeps the library off those overloads.
/// </summary>
internal static class ScalarSafe
{
    /// <summary>1, as the <c>alpha</c> of additions: held in a static field, so never finalized.</summary>
    private static readonly Scalar One = 1.ToScalar();

    /// <summary>Process-lifetime Scalars of the few constants the networks use (slopes), by value.</summary>
    private static readonly ConcurrentDictionary<double, Scalar> Constants = new();

    /// <summary><paramref name="x"/> + <paramref name="y"/> (a new tensor).</summary>
    public static Tensor Plus(this Tensor x, Tensor y) => x.add(y, One);

    /// <summary><paramref name="x"/> += <paramref name="y"/> (in place; returns <paramref name="x"/>'s new handle).</summary>
    public static Tensor PlusInPlace(this Tensor x, Tensor y) => x.add_(y, One);

    /// <summary><paramref name="x"/> + <paramref name="y"/> for a Scalar the caller keeps alive (a new tensor).</summary>
    public static Tensor Plus(this Tensor x, Scalar y) => x.add(y, One);

    /// <summary><paramref name="x"/> += <paramref name="y"/> for a Scalar the caller keeps alive (in place).</summary>
    public static Tensor PlusInPlace(this Tensor x, Scalar y) => x.add_(y, One);

    /// <summary>Leaky ReLU with <paramref name="negativeSlope"/> (a new tensor).</summary>
    public static Tensor LeakyRelu(this Tensor x, double negativeSlope) => x.leaky_relu(Constant(negativeSlope));

    /// <summary>A Scalar of <paramref name="value"/> that lives for the process (for a handful of fixed constants only).</summary>
    public static Scalar Constant(double value) => Constants.GetOrAdd(value, v => v.ToScalar());
}
