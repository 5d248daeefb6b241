function [text, q] = mat5_text(w, bytes, q, last)
%MAT5_TEXT Read an miINT8 text element (a name, or a struct's field names) of a MAT v5 file.
%
%   [TEXT, Q] = sb3.internal.mat5_text(W, BYTES, Q, LAST) reads the element
%   whose tag is word Q of W (the file's words after its 128-byte header, as
%   double) from BYTES (the file, uint8), in the small form (up to 4 bytes
%   in the tag's word) or the normal one, and returns its text and the word
%   after it. Q is -1 when the element is not miINT8 text or runs past word
%   LAST, its container's end.
%
%   Usage:
%     [text, q] = sb3.internal.mat5_text(w, bytes, q, last)
%
%   Example:
%     [name, q] = sb3.internal.mat5_text(w, bytes, q, last);   % inside sb3.internal.mat5_walk
%
%   See also sb3.internal.mat5_walk.

text = '';
if q + 1 > last
  q = -1;
  return;
end
if w(q) >= 65536
  n = (w(q) - 1) / 65536;
  if mod(w(q), 65536) ~= 1 || n > 4
    q = -1;
    return;
  end
  first = 128 + 4 * q + 1;
  q = q + 2;
else
  n = w(q + 1);
  first = 128 + 4 * (q + 1) + 1;
  if w(q) ~= 1 || q + 1 + ceil(n / 4) > last
    q = -1;
    return;
  end
  q = q + 2 + 2 * ceil(n / 8);
end
text = char(bytes(first:first + n - 1)).';
end
