using System.Buffers.Binary;
using System.Buffers.Text;
using System.Numerics;

namespace RealTimeInference.Server.Transport;

/// <summary>
/// A JSON number read in one pass: its grammar checked and its digits gathered together, then made
/// the correctly rounded double — exactly when it fits (Clinger's fast path), else by the Eisel–Lemire
/// algorithm (Lemire, "Number Parsing at a Gigabyte per Second", 2021, as fast_float writes it), else,
/// for more than 19 digits or the rare product it cannot decide, by <see cref="Utf8Parser"/>. The
/// shortest round-trip text of a double has 17 digits, which the runtime's parser takes the slow way.
/// </summary>
internal static class JsonNumber
{
    private const int SmallestPowerOfTen = -342;
    private const int LargestPowerOfTen = 308;

    /// <summary>5^q for q in [-342, 308] to 128 bits, normalized so the top bit is set (fast_float's table, computed here).</summary>
    private static readonly ulong[] PowersOfFive = Powers();

    private static readonly double[] ExactPowersOfTen = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

    /// <summary>
    /// Reads the number <paramref name="json"/> starts with (<c>-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?</c>);
    /// false when it starts with none. <paramref name="consumed"/> is its length in bytes.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> json, out double value, out int consumed)
    {
        value = 0;
        consumed = 0;
        var at = 0;
        var negative = at < json.Length && json[at] == '-';
        at += negative ? 1 : 0;
        ulong digits = 0;
        var significant = 0;
        var start = at;
        if (at < json.Length && json[at] == '0')
        {
            at++;
        }
        else
        {
            Gather(json, ref at, ref digits, ref significant);
            if (at == start)
            {
                return false;
            }
        }

        var exponent = 0;
        if (at < json.Length && json[at] == '.')
        {
            var fraction = ++at;
            Gather(json, ref at, ref digits, ref significant);
            if (at == fraction)
            {
                return false;
            }

            exponent = fraction - at;
        }

        if (at < json.Length && (json[at] | 0x20) == 'e')
        {
            at++;
            var negativeExponent = at < json.Length && json[at] == '-';
            at += at < json.Length && json[at] is (byte)'+' or (byte)'-' ? 1 : 0;
            var first = at;
            var written = 0;
            while (at < json.Length && (uint)(json[at] - '0') <= 9)
            {
                // Capped: a longer exponent is left to the runtime's parser.
                written = Math.Min((written * 10) + (json[at++] - '0'), 1_000_000);
            }

            if (at == first)
            {
                return false;
            }

            exponent = written == 1_000_000 ? int.MaxValue : exponent + (negativeExponent ? -written : written);
        }

        consumed = at;
        if (significant > 19 || exponent == int.MaxValue || !TryCompose(digits, exponent, negative, out value))
        {
            return Utf8Parser.TryParse(json[..at], out value, out var parsed) && parsed == at;
        }

        return true;
    }

    /// <summary>Digits into <paramref name="digits"/>: leading zeros are not significant, and past 19 only counted (the caller falls back).</summary>
    private static void Gather(ReadOnlySpan<byte> json, ref int at, ref ulong digits, ref int significant)
    {
        while (true)
        {
            // Eight digits at a time once the leading zeros are behind (fast_float's SWAR).
            if (significant is > 0 and <= 11 && at + 8 <= json.Length)
            {
                var chunk = BinaryPrimitives.ReadUInt64LittleEndian(json[at..]);
                if ((((chunk + 0x4646464646464646) | (chunk - 0x3030303030303030)) & 0x8080808080808080) == 0)
                {
                    digits = (digits * 100_000_000) + EightDigits(chunk);
                    significant += 8;
                    at += 8;
                    continue;
                }
            }

            if (at >= json.Length || (uint)(json[at] - '0') > 9)
            {
                return;
            }

            var digit = (uint)(json[at++] - '0');
            if (significant > 0 || digit != 0)
            {
                if (++significant <= 19)
                {
                    digits = (digits * 10) + digit;
                }
            }
        }
    }

    /// <summary>The value of eight ASCII digits read little-endian (the first digit in the lowest byte).</summary>
    private static uint EightDigits(ulong chunk)
    {
        chunk -= 0x3030303030303030;
        chunk = (chunk * 10) + (chunk >> 8);
        return (uint)((((chunk & 0x000000FF000000FF) * 0x000F424000000064) + (((chunk >> 16) & 0x000000FF000000FF) * 0x0000271000000001)) >> 32);
    }

    /// <summary><paramref name="w"/> × 10^<paramref name="q"/> correctly rounded; false when undecided here.</summary>
    private static bool TryCompose(ulong w, int q, bool negative, out double value)
    {
        value = 0;
        if (w == 0 || q < SmallestPowerOfTen)
        {
            value = negative ? -0.0 : 0.0;
            return true;
        }

        if (q > LargestPowerOfTen)
        {
            value = negative ? double.NegativeInfinity : double.PositiveInfinity;
            return true;
        }

        // Clinger: both exact as doubles, so one rounding.
        if (w <= (1UL << 53) && q is >= -22 and <= 22)
        {
            value = q >= 0 ? w * ExactPowersOfTen[q] : w / ExactPowersOfTen[-q];
            value = negative ? -value : value;
            return true;
        }

        var lz = BitOperations.LeadingZeroCount(w);
        w <<= lz;
        var index = 2 * (q - SmallestPowerOfTen);
        var high = Math.BigMul(w, PowersOfFive[index], out var low);
        // The top 55 bits decide, unless the bits below them are all ones: then the next 64 bits of 5^q too.
        if ((high & 0x1FF) == 0x1FF)
        {
            var high2 = Math.BigMul(w, PowersOfFive[index + 1], out _);
            low += high2;
            high += low < high2 ? 1UL : 0;
        }

        if (low == ulong.MaxValue && q is < -27 or > 55)
        {
            return false;
        }

        var upper = (int)(high >> 63);
        var shift = upper + 9;
        var mantissa = high >> shift;
        var power2 = ((((152170 + 65536) * q) >> 16) + 63) + upper - lz + 1023;
        if (power2 <= 0)
        {
            // Subnormal, or too small for any: rare enough for the runtime's parser.
            return false;
        }

        // Halfway between two doubles with an even one below: round down, not up.
        if (low <= 1 && q is >= -4 and <= 23 && (mantissa & 3) == 1 && (mantissa << shift) == high)
        {
            mantissa &= ~1UL;
        }

        mantissa += mantissa & 1;
        mantissa >>= 1;
        if (mantissa >= (2UL << 52))
        {
            mantissa = 1UL << 52;
            power2++;
        }

        mantissa &= ~(1UL << 52);
        if (power2 >= 0x7FF)
        {
            value = negative ? double.NegativeInfinity : double.PositiveInfinity;
            return true;
        }

        value = BitConverter.UInt64BitsToDouble(mantissa | ((ulong)power2 << 52) | (negative ? 1UL << 63 : 0));
        return true;
    }

    /// <summary>fast_float's table generation (script/table_generation.py): truncated 5^q, and for q &lt; 0 its reciprocal rounded up.</summary>
    private static ulong[] Powers()
    {
        var table = new ulong[2 * (LargestPowerOfTen - SmallestPowerOfTen + 1)];
        var top = BigInteger.One << 127;
        var limit = BigInteger.One << 128;
        for (var q = SmallestPowerOfTen; q <= LargestPowerOfTen; q++)
        {
            BigInteger c;
            if (q < 0)
            {
                var power5 = BigInteger.Pow(5, -q);
                var z = (int)(power5 - 1).GetBitLength();
                c = (BigInteger.One << (q >= -27 ? z + 127 : (2 * z) + 128)) / power5 + 1;
                while (c >= limit)
                {
                    c >>= 1;
                }
            }
            else
            {
                c = BigInteger.Pow(5, q);
                while (c < top)
                {
                    c <<= 1;
                }

                while (c >= limit)
                {
                    c >>= 1;
                }
            }

            var index = 2 * (q - SmallestPowerOfTen);
            table[index] = (ulong)(c >> 64);
            table[index + 1] = (ulong)(c & ulong.MaxValue);
        }

        return table;
    }
}
