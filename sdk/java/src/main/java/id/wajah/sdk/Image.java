package id.wajah.sdk;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;

/**
 * An image to send. Bytes and files go as a multipart file part; a data URL (or raw base64) goes in a
 * JSON body, as the API takes both.
 *
 * <pre>{@code client.enrollment().direct("EMP001", Image.fromPath(Path.of("face.jpg")), Map.of()); }</pre>
 */
public final class Image {
    private final byte[] bytes;
    private final String text;
    private final String filename;

    private Image(byte[] bytes, String text, String filename) {
        this.bytes = bytes;
        this.text = text;
        this.filename = filename;
    }

    /** @throws UncheckedIOException when the file cannot be read */
    public static Image fromPath(Path path) {
        try {
            return new Image(Files.readAllBytes(path), null, path.getFileName().toString());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read image file " + path, e);
        }
    }

    public static Image fromBytes(byte[] bytes) {
        return new Image(bytes.clone(), null, "image." + extension(sniffType(bytes)));
    }

    /** {@code data:image/jpeg;base64,…} (e.g. from a browser canvas) or raw base64. */
    public static Image fromDataUrl(String dataUrlOrBase64) {
        return new Image(null, dataUrlOrBase64, "image");
    }

    boolean isBinary() {
        return bytes != null;
    }

    String text() {
        return text;
    }

    String filename() {
        return filename;
    }

    /** The bytes (a data URL is decoded). */
    byte[] bytes() {
        if (bytes != null) return bytes;
        String b64 = text.replaceFirst("(?i)^data:[^,]*;base64,", "").replaceAll("\\s+", "");
        return Base64.getDecoder().decode(b64);
    }

    /** The MIME type from the first bytes (JPEG, PNG, WebP); octet-stream otherwise, which the server also takes. */
    static String sniffType(byte[] b) {
        if (b.length > 3 && (b[0] & 0xff) == 0xff && (b[1] & 0xff) == 0xd8 && (b[2] & 0xff) == 0xff) return "image/jpeg";
        if (b.length > 8 && (b[0] & 0xff) == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G') return "image/png";
        if (b.length > 12 && b[0] == 'R' && b[1] == 'I' && b[2] == 'F' && b[3] == 'F' && b[8] == 'W' && b[9] == 'E' && b[10] == 'B' && b[11] == 'P') return "image/webp";
        return "application/octet-stream";
    }

    private static String extension(String type) {
        return switch (type) {
            case "image/jpeg" -> "jpg";
            case "image/png" -> "png";
            case "image/webp" -> "webp";
            default -> "bin";
        };
    }
}
