"""A dozen varied Keras models, every random initializer seeded, built with real Keras in the tests."""

from __future__ import annotations

import itertools

_seeds = itertools.count(100)


def seeded(keras, name="GlorotUniform", **kwargs):
    """A fresh seeded initializer (each call a new seed)."""
    return getattr(keras.initializers, name)(seed=next(_seeds), **kwargs)


def mlp(keras):
    L = keras.layers
    return keras.Sequential(
        [
            keras.Input((20,)),
            L.Dense(32, activation="relu", kernel_initializer=seeded(keras, "HeNormal")),
            L.Dropout(0.1),
            L.Dense(16, kernel_initializer=seeded(keras), bias_initializer=seeded(keras, "RandomNormal", stddev=0.1)),
            L.Dense(4, use_bias=False, kernel_initializer=seeded(keras, "LecunUniform")),
        ],
        name="mlp",
    )


def cnn_batchnorm(keras):
    L = keras.layers
    return keras.Sequential(
        [
            keras.Input((16, 16, 3)),
            L.Conv2D(8, 3, padding="same", kernel_initializer=seeded(keras, "HeUniform")),
            L.BatchNormalization(gamma_initializer=seeded(keras, "RandomNormal", mean=1.0, stddev=0.02)),
            L.MaxPooling2D(),
            L.Conv2D(16, (3, 2), strides=2, kernel_initializer=seeded(keras)),
            L.BatchNormalization(center=False, moving_variance_initializer=seeded(keras, "RandomUniform")),
            L.Flatten(),
            L.Dense(5, kernel_initializer=seeded(keras)),
        ]
    )


def residual_cnn(keras):
    L = keras.layers
    x = keras.Input((12, 12, 8))
    a = L.Conv2D(8, 3, padding="same", kernel_initializer=seeded(keras, "HeNormal"))(x)
    a = L.BatchNormalization()(a)
    a = L.ReLU()(a)
    b = L.Conv2D(8, 3, padding="same", groups=2, kernel_initializer=seeded(keras, "HeNormal"))(a)
    y = L.Add()([x, b])
    branch1 = L.Conv2D(4, 1, kernel_initializer=seeded(keras))(y)
    branch2 = L.Conv2D(6, 3, padding="same", use_bias=False, kernel_initializer=seeded(keras))(y)
    z = L.Concatenate()([branch1, branch2])
    z = L.GlobalAveragePooling2D()(z)
    out = L.Dense(3, kernel_initializer=seeded(keras))(z)
    return keras.Model(x, out, name="residual")


def depthwise_separable_transposed(keras):
    L = keras.layers
    return keras.Sequential(
        [
            keras.Input((10, 10, 4)),
            L.ZeroPadding2D(((1, 0), (2, 1))),
            L.DepthwiseConv2D(3, depth_multiplier=2, depthwise_initializer=seeded(keras)),
            L.SeparableConv2D(
                6, 3, depthwise_initializer=seeded(keras), pointwise_initializer=seeded(keras, "HeNormal")
            ),
            L.Conv2DTranspose(5, 3, strides=2, kernel_initializer=seeded(keras)),
            L.Cropping2D(1),
            L.UpSampling2D(2),
            L.AveragePooling2D(3),
            L.Conv2D(2, 1, kernel_initializer=seeded(keras)),
        ]
    )


def channels_first_and_1d(keras):
    L = keras.layers
    x = keras.Input((3, 9, 9))
    a = L.Conv2D(4, 3, data_format="channels_first", kernel_initializer=seeded(keras))(x)
    a = L.Flatten()(a)
    s = keras.Input((30, 5))
    b = L.Conv1D(6, 5, strides=2, padding="causal", kernel_initializer=seeded(keras))(s)
    b = L.SeparableConv1D(4, 3, depthwise_initializer=seeded(keras), pointwise_initializer=seeded(keras))(b)
    b = L.DepthwiseConv1D(2, depthwise_initializer=seeded(keras))(b)
    b = L.Conv1DTranspose(3, 3, kernel_initializer=seeded(keras))(b)
    b = L.GlobalMaxPooling1D()(b)
    out = L.Dense(2, kernel_initializer=seeded(keras))(L.Concatenate()([a, b]))
    return keras.Model([x, s], out)


def conv3d(keras):
    L = keras.layers
    return keras.Sequential(
        [
            keras.Input((6, 6, 6, 2)),
            L.Conv3D(3, 3, kernel_initializer=seeded(keras, "HeUniform")),
            L.Conv3DTranspose(2, 2, strides=2, kernel_initializer=seeded(keras)),
            L.MaxPooling3D(2),
            L.GlobalAveragePooling3D(),
        ]
    )


def recurrent(keras):
    L = keras.layers
    return keras.Sequential(
        [
            keras.Input((7,), dtype="int32"),
            L.Embedding(50, 8, embeddings_initializer=seeded(keras, "RandomUniform")),
            L.LSTM(
                6,
                return_sequences=True,
                kernel_initializer=seeded(keras),
                recurrent_initializer=seeded(keras, "Orthogonal"),
                bias_initializer=seeded(keras, "RandomNormal"),
            ),
            L.GRU(
                5,
                return_sequences=True,
                kernel_initializer=seeded(keras),
                recurrent_initializer=seeded(keras, "Orthogonal"),
            ),
            L.GRU(
                4,
                reset_after=False,
                kernel_initializer=seeded(keras),
                recurrent_initializer=seeded(keras, "Orthogonal"),
            ),
            L.Dense(1, kernel_initializer=seeded(keras)),
        ]
    )


def bidirectional(keras):
    L = keras.layers
    return keras.Sequential(
        [
            keras.Input((9, 4)),
            L.Bidirectional(
                L.LSTM(
                    3,
                    return_sequences=True,
                    kernel_initializer=seeded(keras),
                    recurrent_initializer=seeded(keras, "Orthogonal"),
                )
            ),
            L.Bidirectional(
                L.SimpleRNN(2, kernel_initializer=seeded(keras), recurrent_initializer=seeded(keras, "Orthogonal")),
                merge_mode="sum",
            ),
            L.RepeatVector(3),
            L.SimpleRNN(2, kernel_initializer=seeded(keras), recurrent_initializer=seeded(keras, "Orthogonal")),
        ]
    )


def transformer(keras):
    L = keras.layers
    x = keras.Input((6, 16))
    attended = L.MultiHeadAttention(
        num_heads=2,
        key_dim=4,
        value_dim=3,
        kernel_initializer=seeded(keras),
        bias_initializer=seeded(keras, "RandomNormal"),
    )(x, x)
    h = L.LayerNormalization(epsilon=1e-6)(L.Add()([x, attended]))
    memory = keras.Input((5, 10))
    cross = L.MultiHeadAttention(
        num_heads=3, key_dim=2, output_shape=7, use_bias=False, kernel_initializer=seeded(keras)
    )(h, memory)
    f = L.Dense(32, activation="gelu", kernel_initializer=seeded(keras))(cross)
    f = L.Dense(7, kernel_initializer=seeded(keras))(f)
    y = L.LayerNormalization(center=False, gamma_initializer=seeded(keras, "RandomNormal", mean=1.0))(f)
    return keras.Model([x, memory], y)


def nested(keras):
    L = keras.layers
    inner = keras.Sequential(
        [
            keras.Input((8,)),
            L.Dense(8, kernel_initializer=seeded(keras), name="inner_dense_a"),
            L.BatchNormalization(),
            L.Dense(4, kernel_initializer=seeded(keras), name="inner_dense_b"),
        ],
        name="inner_block",
    )
    x = keras.Input((12,), name="features")
    h = L.Dense(16, kernel_initializer=seeded(keras), name="enc1")(x)
    h = L.Dense(8, kernel_initializer=seeded(keras), name="enc2")(h)
    h = inner(h)
    out = L.Dense(3, kernel_initializer=seeded(keras), name="head")(h)
    return keras.Model(x, out, name="named_functional")


def normalization_zoo(keras):
    L = keras.layers
    x = keras.Input((10, 8))
    a = L.GroupNormalization(groups=2, gamma_initializer=seeded(keras, "RandomNormal", mean=1.0))(x)
    a = L.LayerNormalization(rms_scaling=True)(a)
    a = L.PReLU(alpha_initializer=seeded(keras, "RandomUniform", minval=0.0, maxval=0.3), shared_axes=[1])(a)
    a = L.EinsumDense("abc,cd->abd", output_shape=(None, 6), bias_axes="d", kernel_initializer=seeded(keras))(a)
    a = L.EinsumDense("...b,bc->...c", output_shape=5, kernel_initializer=seeded(keras, "HeNormal"))(a)
    a = L.Reshape((25, 2))(a)
    a = L.Permute((2, 1))(a)
    out = L.Dense(3, kernel_initializer=seeded(keras))(L.Flatten()(a))
    return keras.Model(x, out)


def float64_policy(keras):
    L = keras.layers
    return keras.Sequential(
        [
            keras.Input((5,)),
            L.Dense(4, dtype="float64", kernel_initializer=seeded(keras, "TruncatedNormal")),
            L.Dense(3, dtype="float16", kernel_initializer=seeded(keras, "VarianceScaling", scale=2.0, mode="fan_avg")),
        ]
    )


def wrappers_and_attention(keras):
    L = keras.layers
    x = keras.Input((5, 6))
    a = L.TimeDistributed(L.Dense(4, kernel_initializer=seeded(keras)))(x)
    a = L.SpectralNormalization(L.Dense(4, kernel_initializer=seeded(keras)))(a)
    scaled = L.Attention(use_scale=True, score_mode="concat")([a, a])
    additive = L.AdditiveAttention()([a, a])
    h = L.Concatenate()([scaled, additive])
    h = L.RMSNormalization()(h)
    g = L.MultiHeadAttention(2, 3, use_gate=True, kernel_initializer=seeded(keras))(h, h)
    gq = L.GroupQueryAttention(head_dim=4, num_query_heads=4, num_key_value_heads=2, kernel_initializer=seeded(keras))(
        g, g
    )
    out = L.Normalization(axis=-1)(gq)
    return keras.Model(x, out)


def video_and_embeddings(keras):
    L = keras.layers
    frames = keras.Input((3, 8, 8, 2))
    v = L.TimeDistributed(L.Conv2D(3, 3, kernel_initializer=seeded(keras)))(frames)
    v = L.ConvLSTM2D(
        4,
        3,
        kernel_initializer=seeded(keras),
        recurrent_initializer=seeded(keras, "Orthogonal"),
        bias_initializer=seeded(keras, "RandomNormal"),
    )(v)
    v = L.GlobalAveragePooling2D()(v)
    tokens = keras.Input((4,), dtype="int32")
    e = L.ReversibleEmbedding(30, 4, tie_weights=False, embeddings_initializer=seeded(keras, "RandomNormal"))(tokens)
    e = L.Flatten()(e)
    return keras.Model([frames, tokens], L.Concatenate()([v, e]))


INTERNAL_RANDOM = {"wrappers_and_attention": ("vector_u", "additive_attention/scale")}
"""Weights Keras draws from seeds it makes itself in build(); their values cannot be compared."""

MODELS = {
    f.__name__: f
    for f in (
        mlp,
        cnn_batchnorm,
        residual_cnn,
        depthwise_separable_transposed,
        channels_first_and_1d,
        conv3d,
        recurrent,
        bidirectional,
        transformer,
        nested,
        normalization_zoo,
        float64_policy,
        wrappers_and_attention,
        video_and_embeddings,
    )
}
