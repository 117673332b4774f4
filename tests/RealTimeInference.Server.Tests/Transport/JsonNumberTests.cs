using System.Globalization;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using RealTimeInference.Server.Transport;

namespace RealTimeInference.Server.Tests.Transport;

/// <summary>The one-pass JSON number against the runtime's parser: the same double, bit for bit, for every text.</summary>
public sealed class JsonNumberTests
{
    private static readonly string[] Formats = ["R", "E16", "G17", "G15", "F3", "E3", "G"];

    [Property(MaxTest = 20_000)]
    public Property EveryDouble_AsAnyFormatWritesIt_ReadsBackAsTheRuntimeParsesIt() => Prop.ForAll(
        ArbMap.Default.GeneratorFor<double>().Where(double.IsFinite).SelectMany(d => Gen.Elements(Formats).Select(f => d.ToString(f, CultureInfo.InvariantCulture)))
            .ToArbitrary(),
        AssertSameAsRuntime);

    /// <summary>Decimal texts of up to 25 digits with any exponent: halfway cases, subnormals, overflow, more digits than 19.</summary>
    [Property(MaxTest = 20_000)]
    public Property DecimalTexts_ReadAsTheRuntimeParsesThem() => Prop.ForAll(
        (from digits in Gen.Choose(1, 25)
         from text in Gen.ArrayOf(Gen.Choose(0, 9), digits)
         from point in Gen.Choose(0, digits)
         from exponent in Gen.Choose(-400, 400)
         from written in Gen.Choose(0, 2)
         from negative in ArbMap.Default.GeneratorFor<bool>()
         select Text(text, point, exponent, written, negative)).ToArbitrary(),
        AssertSameAsRuntime);

    [Theory]
    [InlineData("0")]
    [InlineData("-0")]
    [InlineData("-0.0")]
    [InlineData("0.1")]
    [InlineData("9007199254740993")]
    [InlineData("9007199254740995")]
    [InlineData("2.2250738585072011e-308")]
    [InlineData("2.2250738585072014e-308")]
    [InlineData("4.9e-324")]
    [InlineData("1e-400")]
    [InlineData("1.7976931348623157e308")]
    [InlineData("1.7976931348623159e308")]
    [InlineData("3.4028235e38")]
    [InlineData("123456789012345678901234567890")]
    [InlineData("0.30000000000000004")]
    [InlineData("7.3177701707893310e+15")]
    [InlineData("1e0000000000000000001")]
    public void KnownHardCases_ReadAsTheRuntimeParsesThem(string text) => AssertSameAsRuntime(text);

    [Theory]
    [InlineData("")]
    [InlineData("-")]
    [InlineData("1.")]
    [InlineData("1e")]
    [InlineData("1e+")]
    [InlineData(".5")]
    [InlineData("+1")]
    [InlineData("x")]
    public void NoNumber_IsNotRead(string text) => Assert.False(JsonNumber.TryRead(Encoding.ASCII.GetBytes(text), out _, out _));

    [Fact]
    public void ANumber_EndsWhereItsGrammarEnds()
    {
        Assert.True(JsonNumber.TryRead("01"u8, out var zero, out var consumed));
        Assert.Equal((0.0, 1), (zero, consumed));
        Assert.True(JsonNumber.TryRead("-1.5e3,"u8, out var value, out consumed));
        Assert.Equal((-1500.0, 6), (value, consumed));
    }

    private static string Text(int[] digits, int point, int exponent, int written, bool negative)
    {
        var text = new StringBuilder(negative ? "-" : "");
        var whole = string.Concat(digits.Take(point).SkipWhile(d => d == 0));
        text.Append(whole.Length > 0 ? whole : "0");
        if (point < digits.Length)
        {
            text.Append('.').Append(string.Concat(digits.Skip(point)));
        }

        return written switch
        {
            0 => text.ToString(),
            1 => text.Append('e').Append(exponent).ToString(),
            _ => text.Append("E+").Append(Math.Abs(exponent)).ToString(),
        };
    }

    private static void AssertSameAsRuntime(string text)
    {
        Assert.True(JsonNumber.TryRead(Encoding.ASCII.GetBytes(text), out var value, out var consumed), text);
        Assert.Equal(text.Length, consumed);
        Assert.Equal(BitConverter.DoubleToInt64Bits(double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture)), BitConverter.DoubleToInt64Bits(value));
    }
}
